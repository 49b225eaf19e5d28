/** The IBKR gateway fake against BROKERS.md §3: session flow, call order, orders, questions, live orders, portfolio. */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeIbkr, SAMPLE_QUESTIONS, startFakeIbkr } from '../fakes/ibkr.ts';
import { type HttpClient, httpClient, type Json } from '../fakes/testing.ts';

const fake: FakeIbkr = await startFakeIbkr();
const api: HttpClient = httpClient(fake.url);
afterAll(() => fake.close());
beforeEach(() => fake.controls.reset());

const ACCT = 'DU1234567';
const ticket = (extra: Json = {}) => ({
  conid: 265598,
  orderType: 'MKT',
  side: 'BUY',
  quantity: 10,
  tif: 'DAY',
  ...extra,
});

async function ready(): Promise<void> {
  fake.controls.login();
  expect((await api.get('/iserver/accounts')).status).toBe(200);
}

describe('fake IBKR: session', () => {
  it('starts unauthenticated (401 on iserver calls) until the login hook, and needs /iserver/accounts first', async () => {
    const status = await api.post('/iserver/auth/status');
    expect(status.body).toMatchObject({ authenticated: false, competing: false, connected: true });
    const denied = await api.get('/iserver/accounts');
    expect({ status: denied.status, text: denied.text }).toEqual({ status: 401, text: '' });
    fake.controls.login();
    expect((await api.post('/iserver/auth/status')).body.authenticated).toBe(true);
    const early = await api.post(`/iserver/account/${ACCT}/orders`, { orders: [ticket()] });
    expect(early.status).toBe(400);
    expect(early.body.error).toEqual(expect.any(String));
    expect((await api.get('/iserver/account/orders')).status).toBe(400);
    const accounts = await api.get('/iserver/accounts');
    expect(accounts.body).toMatchObject({ accounts: [ACCT], selectedAccount: ACCT, isPaper: true });
    expect((await api.post(`/iserver/account/${ACCT}/orders`, { orders: [ticket()] })).status).toBe(200);
  });

  it('stays alive while tickled, and expires after idling: not authenticated, 401 on iserver calls', async () => {
    await ready();
    fake.controls.advanceTime(5 * 60_000);
    const tickle = await api.post('/tickle');
    expect(tickle.body).toMatchObject({
      collission: false,
      iserver: { authStatus: { authenticated: true, connected: true } },
    });
    fake.controls.advanceTime(5 * 60_000);
    expect((await api.get('/iserver/account/orders')).status).toBe(200);
    fake.controls.advanceTime(7 * 60_000);
    expect((await api.post('/iserver/auth/status')).body.authenticated).toBe(false);
    expect((await api.get('/iserver/account/orders')).status).toBe(401);
    expect((await api.post('/tickle')).status).toBe(401);
    fake.controls.login();
    expect((await api.get('/iserver/account/orders')).status).toBe(400);
  });

  it('restores a dropped brokerage session with ssodh/init or reauthenticate', async () => {
    await ready();
    fake.controls.dropBrokerageSession({ competing: true });
    expect((await api.post('/iserver/auth/status')).body).toMatchObject({
      authenticated: false,
      competing: true,
      connected: true,
    });
    expect((await api.get('/iserver/accounts')).body).toEqual({ error: 'Init session first', statusCode: 400 });
    const init = await api.post('/iserver/auth/ssodh/init', { publish: true, compete: true });
    expect(init.body).toMatchObject({ authenticated: true, competing: false });
    fake.controls.dropBrokerageSession();
    expect((await api.post('/iserver/reauthenticate')).body).toEqual({ message: 'triggered' });
    expect((await api.post('/iserver/auth/status')).body.authenticated).toBe(true);
    expect((await api.get('/sso/validate')).body).toMatchObject({ RESULT: true, LOGIN_TYPE: 2 });
    expect((await api.post('/logout')).body).toEqual({ status: true });
    expect((await api.get('/portfolio/accounts')).status).toBe(401);
  });
});

describe('fake IBKR: orders', () => {
  it('acknowledges {"orders":[…]} and bare arrays with a list; live orders start empty, then carry order_ref', async () => {
    await ready();
    const ack = await api.post<Json[]>(`/iserver/account/${ACCT}/orders`, { orders: [ticket({ cOID: 'ib-1' })] });
    expect(ack.body).toEqual([
      { order_id: expect.stringMatching(/^\d+$/), order_status: 'Submitted', encrypt_message: '1' },
    ]);
    const bare = await api.post<Json[]>(`/iserver/account/${ACCT}/orders`, [
      ticket({ cOID: 'ib-2', side: 'SELL', quantity: 4 }),
    ]);
    expect(bare.status).toBe(200);
    expect(await api.get('/iserver/account/orders?force=true')).toMatchObject({
      body: { orders: [], snapshot: false },
    });
    const live = await api.get<{ orders: Json[] }>(`/iserver/account/orders?accountId=${ACCT}`);
    const first = live.body.orders.find((o) => o.order_ref === 'ib-1');
    expect(first).toMatchObject({
      orderId: Number(ack.body[0]?.order_id),
      status: 'Filled',
      filledQuantity: 10,
      remainingQuantity: 0,
      side: 'BUY',
      ticker: 'AAPL',
    });
    const status = await api.get(`/iserver/account/order/status/${String(ack.body[0]?.order_id)}`);
    expect(status.body).toMatchObject({
      order_status: 'Filled',
      side: 'B',
      cum_fill: '10.0',
      conid: 265598,
      order_ref: 'ib-1',
    });
    expect((await api.get<{ orders: Json[] }>('/iserver/account/orders?filters=cancelled')).body.orders).toEqual([]);
  });

  it('answers a duplicate cOID with the "already registered" error (HTTP 200 or 400 by config)', async () => {
    await ready();
    await api.post(`/iserver/account/${ACCT}/orders`, { orders: [ticket({ cOID: 'dup' })] });
    const again = await api.post(`/iserver/account/${ACCT}/orders`, { orders: [ticket({ cOID: 'dup' })] });
    expect({ status: again.status, body: again.body }).toEqual({
      status: 200,
      body: { error: "Order couldn't be submitted: Local order ID=dup is already registered." },
    });
    fake.controls.configure({ orderErrorStatus: 400 });
    expect((await api.post(`/iserver/account/${ACCT}/orders`, { orders: [ticket({ cOID: 'dup' })] })).status).toBe(400);
    expect(fake.controls.ordersByClientId('dup')).toHaveLength(1);
    const lower = await api.post(`/iserver/account/${ACCT}/orders`, { orders: [ticket({ side: 'buy' })] });
    expect(lower.body.error).toContain('Side must be BUY or SELL');
  });

  it('asks its questions one reply id at a time; confirming places, declining discards, suppressing skips', async () => {
    await ready();
    fake.controls.setQuestions(SAMPLE_QUESTIONS);
    const q1 = await api.post<Json[]>(`/iserver/account/${ACCT}/orders`, { orders: [ticket({ cOID: 'q-1' })] });
    expect(q1.body).toEqual([
      { id: expect.any(String), message: SAMPLE_QUESTIONS[0]?.message, isSuppressed: false, messageIds: ['o354'] },
    ]);
    const q2 = await api.post<Json[]>(`/iserver/reply/${String(q1.body[0]?.id)}`, { confirmed: true });
    expect(q2.body[0]).toMatchObject({ messageIds: ['o163'] });
    expect(fake.controls.ordersByClientId('q-1')).toHaveLength(0);
    const ack = await api.post<Json[]>(`/iserver/reply/${String(q2.body[0]?.id)}`, { confirmed: true });
    expect(ack.body[0]).toMatchObject({ order_status: 'Submitted' });
    expect(fake.controls.ordersByClientId('q-1')).toHaveLength(1);
    expect((await api.post(`/iserver/reply/${String(q2.body[0]?.id)}`, { confirmed: true })).status).toBe(400);
    const declined = await api.post<Json[]>(`/iserver/account/${ACCT}/orders`, { orders: [ticket({ cOID: 'q-2' })] });
    expect(
      (await api.post(`/iserver/reply/${String(declined.body[0]?.id)}`, { confirmed: false })).body.error,
    ).toBeDefined();
    expect(fake.controls.ordersByClientId('q-2')).toHaveLength(0);
    expect((await api.post('/iserver/questions/suppress', { messageIds: ['o354', 'o163'] })).body).toEqual({
      status: 'submitted',
    });
    const direct = await api.post<Json[]>(`/iserver/account/${ACCT}/orders`, { orders: [ticket({ cOID: 'q-3' })] });
    expect(direct.body[0]).toMatchObject({ order_status: 'Submitted', encrypt_message: '1' });
  });

  it('holds bracket children until the parent fills; cancelling acknowledges and shows Cancelled next poll', async () => {
    await ready();
    await api.get('/iserver/account/orders');
    const children = [
      ticket({ orderType: 'LMT', price: 160, side: 'SELL', tif: 'GTC', parentId: 'br-1' }),
      ticket({ orderType: 'STP', price: 140, side: 'SELL', tif: 'GTC', parentId: 'br-1' }),
    ];
    const ack = await api.post<Json[]>(`/iserver/account/${ACCT}/orders`, {
      orders: [ticket({ orderType: 'LMT', price: 145, cOID: 'br-1' }), ...children],
    });
    expect(ack.body.map((a) => a.order_status)).toEqual(['Submitted', 'PreSubmitted', 'PreSubmitted']);
    const [parentId, takeProfitId] = ack.body.map((a) => String(a.order_id));
    fake.controls.setPrice('AAPL', '144');
    const statusOf = async (id: string | undefined) =>
      (await api.get(`/iserver/account/order/status/${id}`)).body.order_status;
    expect([await statusOf(parentId), await statusOf(takeProfitId)]).toEqual(['Filled', 'Submitted']);
    const cancel = await api.delete(`/iserver/account/${ACCT}/order/${takeProfitId}`);
    expect(cancel.body).toEqual({
      msg: 'Request was submitted',
      order_id: Number(takeProfitId),
      conid: 265598,
      account: ACCT,
    });
    const live = await api.get<{ orders: Json[] }>('/iserver/account/orders');
    expect(live.body.orders.filter((o) => o.parentId === Number(parentId)).map((o) => o.status)).toEqual([
      'Cancelled',
      'Cancelled',
    ]);
    expect((await api.delete(`/iserver/account/${ACCT}/order/${takeProfitId}`)).status).toBe(400);
  });
});
