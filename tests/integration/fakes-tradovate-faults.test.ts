/** The Tradovate fake's 200-with-failure bodies and failure switches (programmatic and /__fake over HTTP). */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { type HttpClient, httpClient, type Json } from '../fakes/testing.ts';
import { type FakeTradovate, startFakeTradovate } from '../fakes/tradovate.ts';

const fake: FakeTradovate = await startFakeTradovate();
const admin: HttpClient = httpClient(fake.url.replace(/\/v1$/, ''));
let api: HttpClient;
afterAll(() => fake.close());
beforeEach(() => {
  fake.controls.reset();
  api = httpClient(fake.url, { authorization: `Bearer ${fake.controls.issueToken()}` });
});

const order = (extra: Json = {}) => ({
  accountId: 700001,
  action: 'Buy',
  symbol: 'MESZ5',
  orderQty: 1,
  orderType: 'Market',
  isAutomated: true,
  ...extra,
});

describe('fake Tradovate: rejections inside HTTP 200', () => {
  it('answers business failures with {failureReason, failureText} and bad fields with {violations}', async () => {
    const cases: Array<[Json, Json]> = [
      [order({ accountId: 1 }), { failureReason: 'UnknownReason', failureText: 'Access is denied' }],
      [order({ symbol: 'XXZ9' }), { failureReason: 'InvalidContract', failureText: 'Unknown contract XXZ9' }],
      [
        order({ orderType: 'Limit' }),
        { failureReason: 'InvalidPrice', failureText: 'price is required for Limit orders' },
      ],
    ];
    for (const [body, expected] of cases) {
      const reply = await api.post('/order/placeorder', body);
      expect({ status: reply.status, body: reply.body }).toEqual({ status: 200, body: expected });
    }
    const invalid = await api.post('/order/placeorder', order({ orderQty: 0 }));
    expect(invalid.status).toBe(200);
    expect(invalid.body.violations).toEqual([
      { constraint: 'Valid', value: 0, description: expect.stringContaining('orderQty') },
    ]);
    expect((await api.post('/order/placeorder', order({ action: 'buy' }))).body.violations).toBeDefined();
    expect((await api.post('/order/placeoso', order())).body.violations).toBeDefined();
    expect(fake.state.engine.orders).toHaveLength(0);
  });

  it('rejects on demand, on duplicate clOrdId and past a position limit when configured', async () => {
    fake.controls.rejectNextOrder({ failureReason: 'RiskCheckTimeout', failureText: 'Risk check timed out' });
    expect((await api.post('/order/placeorder', order())).body).toEqual({
      failureReason: 'RiskCheckTimeout',
      failureText: 'Risk check timed out',
    });
    expect((await api.post('/order/placeorder', order({ clOrdId: 'same' }))).body.orderId).toBeDefined();
    expect((await api.post('/order/placeorder', order({ clOrdId: 'same' }))).body.orderId).toBeDefined();
    fake.controls.configure({ rejectDuplicateClOrdId: true, maxPosition: 3 });
    expect((await api.post('/order/placeorder', order({ clOrdId: 'same' }))).body).toEqual({
      failureReason: 'UnknownReason',
      failureText: 'duplicate clOrdId',
    });
    expect((await api.post('/order/placeorder', order({ orderQty: 2 }))).body).toMatchObject({
      failureReason: 'MaxPosLimitReached',
    });
    fake.controls.configure({ requireIsAutomated: true });
    expect((await api.post('/order/placeorder', order({ isAutomated: undefined }))).body.failureReason).toBe(
      'UnknownReason',
    );
  });

  it('rejects an accepted order later: ordStatus Rejected with a Rejected execution report', async () => {
    fake.controls.rejectNextAccepted();
    const placed = await api.post('/order/placeorder', order());
    expect(placed.body).toEqual({ orderId: expect.any(Number) });
    expect((await api.get(`/order/item?id=${String(placed.body.orderId)}`)).body.ordStatus).toBe('Rejected');
    const reports = await api.get<Json[]>(`/executionReport/deps?masterid=${String(placed.body.orderId)}`);
    expect(reports.body.at(-1)).toMatchObject({
      execType: 'Rejected',
      ordStatus: 'Rejected',
      rejectReason: 'UnknownReason',
    });
  });

  it('enforces a stable deviceId on order calls when running as live', async () => {
    fake.controls.configure({ enforceDeviceId: true });
    const creds = { name: 'fakeuser', password: 'fake-password', cid: 8, sec: 'fake-sec' };
    const first = await api.post('/auth/accesstokenrequest', { ...creds, deviceId: 'machine-a' });
    const other = await api.post('/auth/accesstokenrequest', { ...creds, deviceId: 'machine-b' });
    const as = (token: unknown) => httpClient(fake.url, { authorization: `Bearer ${String(token)}` });
    expect((await as(first.body.accessToken).post('/order/placeorder', order())).body.orderId).toBeDefined();
    const denied = await as(other.body.accessToken).post('/order/placeorder', order());
    expect({ status: denied.status, text: denied.text }).toEqual({ status: 401, text: 'Access is denied' });
  });
});

describe('fake Tradovate: failure switches', () => {
  it('answers 429 and 5xx with empty bodies, then recovers', async () => {
    fake.controls.rateLimitNext(1);
    const limited = await api.get('/account/list');
    expect({ status: limited.status, text: limited.text }).toEqual({ status: 429, text: '' });
    fake.controls.failNext(1, { path: '/order/placeorder' });
    expect((await api.post('/order/placeorder', order())).status).toBe(500);
    expect((await api.post('/order/placeorder', order())).status).toBe(200);
    fake.controls.configure({ rateLimit: { max: 1, windowMs: 1000 } });
    expect((await api.get('/account/list')).status).toBe(200);
    const over = await api.get('/account/list');
    expect({ status: over.status, text: over.text }).toEqual({ status: 429, text: '' });
    fake.controls.advanceTime(1000);
    expect((await api.get('/account/list')).status).toBe(200);
  });

  it('stores an order whose response is dropped, findable by clOrdId in /command/list', async () => {
    fake.controls.dropNextResponse({ path: '/order/placeorder' });
    await expect(api.post('/order/placeorder', order({ clOrdId: 'lost-1' }))).rejects.toThrow();
    const commands = await api.get<Json[]>('/command/list');
    expect(commands.body.filter((c) => c.clOrdId === 'lost-1')).toHaveLength(1);
    expect(fake.controls.ordersByClientId('lost-1')).toHaveLength(1);
    fake.controls.hangNext({ path: '/order/placeorder', process: false });
    await expect(
      api.post('/order/placeorder', order({ clOrdId: 'lost-2' }), { signal: AbortSignal.timeout(100) }),
    ).rejects.toThrow();
    expect(fake.controls.ordersByClientId('lost-2')).toHaveLength(0);
  });

  it('fills in partial steps as the client polls fills, and after a delay', async () => {
    fake.controls.configureFills({ mode: 'polls', polls: 1, steps: 2 });
    const placed = await api.post('/order/placeorder', order({ orderQty: 4 }));
    const fills = async () => (await api.get<Json[]>(`/fill/deps?masterid=${String(placed.body.orderId)}`)).body;
    expect((await fills()).map((f) => f.qty)).toEqual([2]);
    expect((await api.get(`/order/item?id=${String(placed.body.orderId)}`)).body.ordStatus).toBe('Filled');
    fake.controls.configureFills({ mode: 'delay', delayMs: 10, steps: 1 });
    const delayed = await api.post('/order/placeorder', order());
    const id = String(delayed.body.orderId);
    expect((await api.get(`/order/item?id=${id}`)).body.ordStatus).toBe('Working');
    await fake.controls.waitFor(() => fake.state.engine.get(id)?.status === 'filled');
    expect((await api.get(`/order/item?id=${id}`)).body.ordStatus).toBe('Filled');
  });

  it('exposes p-tickets, token expiry, rejections and config under /__fake', async () => {
    await admin.post('/__fake/p-ticket', { endpoint: 'renewaccesstoken', time: 5 });
    expect((await api.get('/auth/renewaccesstoken')).body).toMatchObject({ 'p-time': 5 });
    await admin.post('/__fake/expire-tokens');
    expect((await api.get('/account/list')).status).toBe(401);
    api = httpClient(fake.url, { authorization: `Bearer ${fake.controls.issueToken()}` });
    await admin.post('/__fake/reject-next', { failureReason: 'SessionClosed', failureText: 'closed' });
    expect((await api.post('/order/placeorder', order())).body).toEqual({
      failureReason: 'SessionClosed',
      failureText: 'closed',
    });
    await admin.post('/__fake/config', { filledStatus: 'Completed' });
    const placed = await api.post('/order/placeorder', order());
    expect((await api.get(`/order/item?id=${String(placed.body.orderId)}`)).body.ordStatus).toBe('Completed');
    await admin.post('/__fake/faults', { kind: 'status', status: 423, text: '', path: '/account/list' });
    expect((await api.get('/account/list')).status).toBe(423);
  });
});
