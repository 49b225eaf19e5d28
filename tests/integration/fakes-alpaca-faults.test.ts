/** The Alpaca fake's failure switches: programmatic controls and the /__fake admin endpoints. */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeAlpaca, startFakeAlpaca } from '../fakes/alpaca.ts';
import { type HttpClient, httpClient, type Json } from '../fakes/testing.ts';

const KEYS = { 'APCA-API-KEY-ID': 'PKFAKEKEY0000000001', 'APCA-API-SECRET-KEY': 'fake-secret' };
const fake: FakeAlpaca = await startFakeAlpaca();
const api: HttpClient = httpClient(fake.url, KEYS);
const admin: HttpClient = httpClient(fake.url);
afterAll(() => fake.close());
beforeEach(() => fake.controls.reset());

const order = (cid: string, extra: Json = {}) => ({
  symbol: 'AAPL',
  qty: '10',
  side: 'buy',
  type: 'market',
  time_in_force: 'day',
  client_order_id: cid,
  ...extra,
});

describe('fake Alpaca: failure switches', () => {
  it('answers the next N requests with 5xx and Alpaca error bodies, then recovers', async () => {
    fake.controls.failNext(2, { status: 503, path: '/v2/orders', method: 'POST' });
    expect((await api.get('/v2/account')).status).toBe(200);
    for (let i = 0; i < 2; i += 1) {
      const failed = await api.post('/v2/orders', order(`f${i}`));
      expect(failed.status).toBe(503);
      expect(failed.body).toEqual({ code: 50310000, message: 'internal server error' });
    }
    expect((await api.post('/v2/orders', order('f2'))).status).toBe(200);
    expect(fake.state.engine.orders.map((o) => o.clientOrderId)).toEqual(['f2']);
  });

  it('answers 429 with the rate-limit headers, on demand and past N requests per minute', async () => {
    fake.controls.rateLimitNext(1);
    const limited = await api.get('/v2/account');
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ code: 42910000, message: 'rate limit exceeded' });
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    fake.controls.configure({ rateLimitPerMinute: 2 });
    const first = await api.get('/v2/account');
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    expect((await api.get('/v2/account')).status).toBe(200);
    const third = await api.get('/v2/account');
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    fake.controls.advanceTime(60_000);
    expect((await api.get('/v2/account')).status).toBe(200);
  });

  it('stores an order whose response is dropped; the retry with the same id gets the duplicate 422', async () => {
    fake.controls.dropNextResponse({ method: 'POST', path: '/v2/orders' });
    await expect(api.post('/v2/orders', order('drop-1'))).rejects.toThrow();
    expect(fake.controls.ordersByClientId('drop-1')).toHaveLength(1);
    const lookup = await api.get('/v2/orders:by_client_order_id?client_order_id=drop-1');
    expect(lookup.body).toMatchObject({ status: 'filled' });
    const retry = await api.post('/v2/orders', order('drop-1'));
    expect(retry.status).toBe(422);
    expect(fake.controls.ordersByClientId('drop-1')).toHaveLength(1);
  });

  it('holds a response past a client time-out (order stored) or answers it late', async () => {
    fake.controls.hangNext({ path: '/v2/orders' });
    await expect(api.post('/v2/orders', order('hang-1'), { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    expect(fake.controls.ordersByClientId('hang-1')).toHaveLength(1);
    fake.controls.hangNext({ path: '/v2/orders', process: false });
    await expect(api.post('/v2/orders', order('hang-2'), { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    expect(fake.controls.ordersByClientId('hang-2')).toHaveLength(0);
    fake.controls.delayNext(150, { path: '/v2/account' });
    const started = performance.now();
    const slow = await api.get('/v2/account');
    expect(slow.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('rejects on demand: synchronously with a chosen body, or after a 200 with status rejected', async () => {
    fake.controls.rejectNextOrder();
    const refused = await api.post('/v2/orders', order('r1'));
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ code: 40310000, message: 'insufficient buying power' });
    fake.controls.rejectNextAccepted();
    const accepted = await api.post('/v2/orders', order('r2'));
    expect(accepted.status).toBe(200);
    const later = await api.get('/v2/orders:by_client_order_id?client_order_id=r2');
    expect(later.body).toMatchObject({ status: 'rejected', filled_qty: '0' });
    expect(later.body.failed_at).not.toBeNull();
    fake.controls.configure({ tradingBlocked: true });
    expect((await api.post('/v2/orders', order('r3'))).body).toEqual({
      code: 40310000,
      message: 'account is not authorized to trade',
    });
  });

  it('fills after N polls, in K partial steps', async () => {
    fake.controls.configureFills({ mode: 'polls', polls: 2, steps: 2 });
    const placed = await api.post('/v2/orders', order('p1'));
    const read = async () => (await api.get(`/v2/orders/${String(placed.body.id)}`)).body;
    expect(await read()).toMatchObject({ status: 'new', filled_qty: '0' });
    expect(await read()).toMatchObject({ status: 'partially_filled', filled_qty: '5' });
    expect(await read()).toMatchObject({ status: 'partially_filled', filled_qty: '5' });
    expect(await read()).toMatchObject({ status: 'filled', filled_qty: '10', filled_avg_price: '150' });
    expect(fake.state.engine.fills.map((f) => f.qty)).toEqual(['5', '5']);
  });

  it('fills after a delay, and keeps the fill quantity of an order cancelled part-filled', async () => {
    fake.controls.configureFills({ mode: 'delay', delayMs: 20 });
    const placed = await api.post('/v2/orders', order('d1'));
    await fake.controls.waitFor(() => fake.state.engine.get(String(placed.body.id))?.status === 'filled');
    expect((await api.get(`/v2/orders/${String(placed.body.id)}`)).body.status).toBe('filled');
    fake.controls.configureFills({ mode: 'manual' });
    const manual = await api.post('/v2/orders', order('m1'));
    fake.controls.fillOrder(String(manual.body.id), { qty: '3', price: '149.5' });
    expect((await api.delete(`/v2/orders/${String(manual.body.id)}`)).status).toBe(204);
    const cancelled = await api.get(`/v2/orders/${String(manual.body.id)}`);
    expect(cancelled.body).toMatchObject({ status: 'canceled', filled_qty: '3', filled_avg_price: '149.5' });
  });

  it('exposes the same switches over HTTP under /__fake for another process', async () => {
    expect((await admin.post('/__fake/faults', { kind: 'status', status: 500, path: '/v2/account' })).status).toBe(200);
    expect((await admin.get<Json[]>('/__fake/faults')).body).toHaveLength(1);
    expect((await api.get('/v2/account')).status).toBe(500);
    await admin.post('/__fake/price', { symbol: 'AAPL', price: '99.5' });
    await admin.post('/__fake/fills', { mode: 'polls', polls: 1 });
    await api.post('/v2/orders', order('h1'));
    const stored = await admin.get<Json[]>('/__fake/orders?clientOrderId=h1');
    expect(stored.body).toHaveLength(1);
    expect(stored.body[0]).toMatchObject({ status: 'working', clientOrderId: 'h1' });
    await admin.post('/__fake/reject-next', { count: 1, status: 422, body: { code: 40010001, message: 'nope' } });
    expect((await api.post('/v2/orders', order('h2'))).body).toEqual({ code: 40010001, message: 'nope' });
    await admin.post('/__fake/config', { rateLimitPerMinute: 1 });
    expect((await admin.get('/__fake/config')).body.rateLimitPerMinute).toBe(1);
    expect((await admin.post('/__fake/reset')).status).toBe(200);
    expect((await admin.get<Json[]>('/__fake/orders?clientOrderId=h1')).body).toEqual([]);
    expect((await admin.post('/__fake/nope')).status).toBe(404);
    expect((await admin.post('/__fake/faults', { kind: 'bogus' })).status).toBe(400);
  });
});
