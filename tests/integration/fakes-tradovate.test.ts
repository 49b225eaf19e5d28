/** The Tradovate fake against BROKERS.md §2: tokens and renewal, p-tickets, orders and the separate entities. */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { type HttpClient, httpClient, type Json } from '../fakes/testing.ts';
import { type FakeTradovate, startFakeTradovate } from '../fakes/tradovate.ts';

const fake: FakeTradovate = await startFakeTradovate();
const anon: HttpClient = httpClient(fake.url);
afterAll(() => fake.close());
beforeEach(() => fake.controls.reset());

const CREDENTIALS = {
  name: 'fakeuser',
  password: 'fake-password',
  appId: 'Fillpath',
  appVersion: '1.0',
  deviceId: 'device-1',
  cid: 8,
  sec: 'fake-sec',
};
const ACCOUNT = 700001;

async function login(): Promise<HttpClient> {
  const reply = await anon.post('/auth/accesstokenrequest', CREDENTIALS);
  expect(reply.body.accessToken).toEqual(expect.any(String));
  return httpClient(fake.url, { authorization: `Bearer ${String(reply.body.accessToken)}` });
}

const order = (extra: Json = {}) => ({
  accountSpec: 'DEMO700001',
  accountId: ACCOUNT,
  action: 'Buy',
  symbol: 'ESZ5',
  orderQty: 2,
  orderType: 'Market',
  isAutomated: true,
  ...extra,
});

describe('fake Tradovate: authentication', () => {
  it('answers the token request with 200 both on success and with errorText on failure', async () => {
    const ok = await anon.post('/auth/accesstokenrequest', { ...CREDENTIALS, cid: '8' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ userStatus: 'Active', userId: 100001, name: 'fakeuser', hasLive: false });
    expect(ok.body).not.toHaveProperty('errorText');
    expect(Date.parse(String(ok.body.expirationTime)) - Date.now()).toBeGreaterThan(89 * 60_000);
    for (const bad of [{ password: 'wrong' }, { sec: 'wrong' }, { name: undefined }]) {
      const failed = await anon.post('/auth/accesstokenrequest', { ...CREDENTIALS, ...bad });
      expect(failed.status).toBe(200);
      expect(failed.body.errorText).toEqual(expect.any(String));
      expect(failed.body).not.toHaveProperty('accessToken');
    }
  });

  it('needs the bearer token, answers 401 once it expires, and renews it (GET or POST)', async () => {
    expect((await anon.post('/order/placeorder', order())).status).toBe(401);
    const api = await login();
    const me = await api.get('/auth/me');
    expect(me.body).toMatchObject({ userId: 100001, name: 'fakeuser' });
    const renewed = await api.get('/auth/renewaccesstoken');
    expect(renewed.body.accessToken).toEqual(expect.any(String));
    const renewedByPost = await api.post('/auth/renewaccesstoken');
    expect(Date.parse(String(renewedByPost.body.expirationTime))).toBeGreaterThanOrEqual(
      Date.parse(String(renewed.body.expirationTime)),
    );
    fake.controls.advanceTime(91 * 60_000);
    expect((await api.get('/account/list')).status).toBe(401);
    const fresh = httpClient(fake.url, { authorization: `Bearer ${String(renewedByPost.body.accessToken)}` });
    expect((await fresh.get('/account/list')).status).toBe(401);
    const again = await login();
    fake.controls.expireTokens();
    const expired = await again.get('/account/list');
    expect({ status: expired.status, text: expired.text }).toEqual({ status: 401, text: 'Access is denied' });
  });

  it('issues a p-ticket instead of processing; resending early doubles the wait; a ripe ticket passes', async () => {
    fake.controls.pTicketNext({ time: 15 });
    const penalty = await anon.post('/auth/accesstokenrequest', CREDENTIALS);
    expect(penalty.status).toBe(200);
    expect(penalty.body).toEqual({ 'p-ticket': expect.any(String), 'p-time': 15 });
    const early = await anon.post('/auth/accesstokenrequest', { ...CREDENTIALS, 'p-ticket': penalty.body['p-ticket'] });
    expect(early.body).toEqual({ 'p-ticket': expect.any(String), 'p-time': 30 });
    fake.controls.advanceTime(30_000);
    const ripe = await anon.post('/auth/accesstokenrequest', { ...CREDENTIALS, 'p-ticket': early.body['p-ticket'] });
    expect(ripe.body.accessToken).toEqual(expect.any(String));
  });

  it('answers p-captcha for an hour, and p-tickets after 5 failed logins within an hour', async () => {
    fake.controls.pTicketNext({ captcha: true });
    const captcha = await anon.post('/auth/accesstokenrequest', CREDENTIALS);
    expect(captcha.body).toMatchObject({ 'p-captcha': true, 'p-time': 3600 });
    const retry = await anon.post('/auth/accesstokenrequest', { ...CREDENTIALS, 'p-ticket': captcha.body['p-ticket'] });
    expect(retry.body['p-captcha']).toBe(true);
    fake.controls.advanceTime(3_600_000);
    for (let i = 0; i < 5; i += 1) {
      expect(
        (await anon.post('/auth/accesstokenrequest', { ...CREDENTIALS, password: 'x' })).body.errorText,
      ).toBeDefined();
    }
    const limited = await anon.post('/auth/accesstokenrequest', CREDENTIALS);
    expect(limited.body).toMatchObject({ 'p-time': 15 });
    fake.controls.advanceTime(3_600_001);
    expect((await anon.post('/auth/accesstokenrequest', CREDENTIALS)).body.accessToken).toBeDefined();
  });
});

describe('fake Tradovate: orders and entities', () => {
  it('places an order: {orderId}; Order, OrderVersion, Command and Fill are separate entities', async () => {
    const api = await login();
    const placed = await api.post('/order/placeorder', order({ clOrdId: 'tv-1' }));
    expect(placed.body).toEqual({ orderId: expect.any(Number) });
    const orderId = Number(placed.body.orderId);
    const item = await api.get(`/order/item?id=${orderId}`);
    expect(item.body).toMatchObject({
      id: orderId,
      accountId: ACCOUNT,
      contractId: 3570918,
      action: 'Buy',
      ordStatus: 'Filled',
    });
    expect(item.body).not.toHaveProperty('orderQty');
    expect(item.body).not.toHaveProperty('clOrdId');
    const versions = await api.get<Json[]>(`/orderVersion/deps?masterid=${orderId}`);
    expect(versions.body).toEqual([
      expect.objectContaining({ orderId, orderQty: 2, orderType: 'Market', timeInForce: 'Day' }),
    ]);
    const commands = await api.get<Json[]>('/command/list');
    expect(commands.body).toEqual([
      expect.objectContaining({ orderId, clOrdId: 'tv-1', commandType: 'New', isAutomated: true }),
    ]);
    const fills = await api.get<Json[]>(`/fill/deps?masterid=${orderId}`);
    expect(fills.body).toEqual([
      expect.objectContaining({ orderId, contractId: 3570918, action: 'Buy', qty: 2, price: 5000 }),
    ]);
    const reports = await api.get<Json[]>(`/executionReport/deps?masterid=${orderId}`);
    expect(reports.body.map((r) => [r.execType, r.ordStatus, r.cumQty])).toEqual([
      ['New', 'Working', 0],
      ['Trade', 'Filled', 2],
    ]);
    expect((await api.get('/order/item?id=1')).status).toBe(404);
  });

  it('keys positions by contractId with a signed netPos, resolved through /contract/item', async () => {
    const api = await login();
    await api.post('/order/placeorder', order({ orderQty: 1 }));
    fake.controls.setPrice('ESZ5', '5010.25');
    await api.post('/order/placeorder', order({ action: 'Sell', orderQty: 3 }));
    const positions = await api.get<Json[]>(`/position/deps?masterid=${ACCOUNT}`);
    expect(positions.body).toEqual([
      expect.objectContaining({
        accountId: ACCOUNT,
        contractId: 3570918,
        netPos: -2,
        netPrice: 5010.25,
        bought: 1,
        sold: 3,
      }),
    ]);
    const contract = await api.get(`/contract/item?id=${String(positions.body[0]?.contractId)}`);
    expect(contract.body).toMatchObject({ id: 3570918, name: 'ESZ5' });
    expect((await api.get('/contract/find?name=MESZ5')).body).toMatchObject({ id: 3570919 });
    expect((await api.get<Json[]>('/contract/suggest?t=ES&l=5')).body.map((c) => c.name)).toEqual(['ESZ5']);
    const cash = await api.post('/cashBalance/getcashbalancesnapshot', { accountId: ACCOUNT });
    expect(cash.body).toMatchObject({ realizedPnL: 512.5, totalCashValue: 50512.5, openPnL: 0, netLiq: 50512.5 });
    expect((await api.post('/cashBalance/getcashbalancesnapshot', { accountId: 1 })).body.errorText).toBeDefined();
  });

  it('holds OSO brackets until the entry fills, then runs them as an OCO pair', async () => {
    const api = await login();
    const placed = await api.post(
      '/order/placeoso',
      order({
        orderType: 'Limit',
        price: 4990.25,
        bracket1: { action: 'Sell', orderType: 'Limit', price: 5010 },
        bracket2: { action: 'Sell', orderType: 'Stop', stopPrice: 4980 },
      }),
    );
    expect(placed.body).toEqual({
      orderId: expect.any(Number),
      oso1Id: expect.any(Number),
      oso2Id: expect.any(Number),
    });
    const status = async (id: unknown) => (await api.get(`/order/item?id=${String(id)}`)).body.ordStatus;
    expect([await status(placed.body.orderId), await status(placed.body.oso1Id)]).toEqual(['Working', 'Suspended']);
    fake.controls.setPrice('ESZ5', '4990');
    expect([await status(placed.body.oso1Id), await status(placed.body.oso2Id)]).toEqual(['Working', 'Working']);
    fake.controls.setPrice('ESZ5', '5011');
    expect([await status(placed.body.oso1Id), await status(placed.body.oso2Id)]).toEqual(['Filled', 'Canceled']);
    const versions = await api.get<Json[]>(`/orderVersion/deps?masterid=${String(placed.body.oso2Id)}`);
    expect(versions.body[0]).toMatchObject({ orderQty: 2, orderType: 'Stop', stopPrice: 4980 });
  });

  it('places OCO pairs, cancels with a commandId, and liquidates with a PlaceOrderResult', async () => {
    const api = await login();
    await api.post('/order/placeorder', order());
    const oco = await api.post(
      '/order/placeoco',
      order({
        action: 'Sell',
        orderType: 'Limit',
        price: 5100,
        other: { action: 'Sell', orderType: 'Stop', stopPrice: 4900 },
      }),
    );
    expect(oco.body).toEqual({ orderId: expect.any(Number), ocoId: expect.any(Number) });
    const cancelled = await api.post('/order/cancelorder', { orderId: oco.body.orderId, isAutomated: true });
    expect(cancelled.body).toEqual({ commandId: expect.any(Number) });
    expect((await api.get(`/order/item?id=${String(oco.body.ocoId)}`)).body.ordStatus).toBe('Canceled');
    const again = await api.post('/order/cancelorder', { orderId: oco.body.orderId });
    expect(again.body).toMatchObject({ failureReason: 'TooLate' });
    const liquidated = await api.post('/order/liquidateposition', {
      accountId: ACCOUNT,
      contractId: 3570918,
      admin: false,
    });
    expect(liquidated.body).toEqual({ orderId: expect.any(Number) });
    expect((await api.get<Json[]>('/position/list')).body[0]).toMatchObject({ netPos: 0 });
    expect(
      (await api.post('/order/liquidateposition', { accountId: ACCOUNT, contractId: 3570918, admin: false })).body
        .failureReason,
    ).toBeDefined();
  });
});
