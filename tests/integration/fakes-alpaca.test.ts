/** The Alpaca fake against BROKERS.md §1: auth, order round trip, positions, account, errors and list filters. */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeAlpaca, startFakeAlpaca } from '../fakes/alpaca.ts';
import { type HttpClient, httpClient, type Json } from '../fakes/testing.ts';

const KEYS = { 'APCA-API-KEY-ID': 'PKFAKEKEY0000000001', 'APCA-API-SECRET-KEY': 'fake-secret' };
const fake: FakeAlpaca = await startFakeAlpaca({
  accounts: [
    { ...{ keyId: KEYS['APCA-API-KEY-ID'], secret: KEYS['APCA-API-SECRET-KEY'] }, bearerTokens: ['oauth-token'] },
  ],
});
const api: HttpClient = httpClient(fake.url, KEYS);
afterAll(() => fake.close());
beforeEach(() => fake.controls.reset());

const market = (extra: Json = {}) => ({
  symbol: 'AAPL',
  qty: '10',
  side: 'buy',
  type: 'market',
  time_in_force: 'day',
  ...extra,
});

describe('fake Alpaca: authentication', () => {
  it('answers 401 {"code":40110000} without both key headers or with a wrong secret', async () => {
    const anonymous = httpClient(fake.url);
    const missing = await anonymous.get('/v2/account');
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ code: 40110000, message: 'request is not authorized' });
    const onlyId = await anonymous.get('/v2/account', { headers: { 'APCA-API-KEY-ID': KEYS['APCA-API-KEY-ID'] } });
    expect(onlyId.status).toBe(401);
    const wrong = await anonymous.get('/v2/account', { headers: { ...KEYS, 'APCA-API-SECRET-KEY': 'nope' } });
    expect(wrong.status).toBe(401);
  });

  it('can answer a key failure with 403 {"message":"forbidden."}, and accepts an OAuth bearer token', async () => {
    fake.controls.configure({ badSecretStatus: 403 });
    const wrong = await api.get('/v2/account', { headers: { 'APCA-API-SECRET-KEY': 'nope' } });
    expect(wrong.status).toBe(403);
    expect(wrong.body).toEqual({ message: 'forbidden.' });
    const bearer = await httpClient(fake.url).get('/v2/account', { headers: { authorization: 'Bearer oauth-token' } });
    expect(bearer.status).toBe(200);
  });
});

describe('fake Alpaca: orders', () => {
  it('acknowledges a market order with 200 before the fill, then reports it filled at the mark', async () => {
    const placed = await api.post('/v2/orders', market({ client_order_id: 'cid-1' }));
    expect(placed.status).toBe(200);
    expect(placed.body).toMatchObject({ client_order_id: 'cid-1', status: 'accepted', qty: '10', filled_qty: '0' });
    expect(placed.body).toMatchObject({ notional: null, filled_avg_price: null, order_class: '', legs: null });
    const found = await api.get('/v2/orders:by_client_order_id?client_order_id=cid-1');
    expect(found.body).toMatchObject({
      id: placed.body.id,
      status: 'filled',
      filled_qty: '10',
      filled_avg_price: '150',
    });
    expect(String(found.body.filled_at)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    const byId = await api.get(`/v2/orders/${String(placed.body.id)}`);
    expect(byId.body.status).toBe('filled');
  });

  it('keeps positions and the account in step with fills, as decimal strings', async () => {
    await api.post('/v2/orders', market({ qty: 10 }));
    fake.controls.setPrice('AAPL', '151.5');
    await api.post('/v2/orders', market({ qty: '10' }));
    const position = await api.get('/v2/positions/AAPL');
    expect(position.body).toMatchObject({ symbol: 'AAPL', qty: '20', side: 'long', avg_entry_price: '150.75' });
    expect(position.body).toMatchObject({ market_value: '3030', cost_basis: '3015', unrealized_pl: '15' });
    const account = await api.get('/v2/account');
    expect(account.body).toMatchObject({ cash: '96985', equity: '100015', long_market_value: '3030', multiplier: '2' });
    await api.post('/v2/orders', market({ side: 'sell', qty: '25' })).then((r) => expect(r.status).toBe(403));
    expect((await api.get('/v2/positions')).body).toHaveLength(1);
  });

  it('answers a reused client_order_id with 422 {"code":40010001}, cancelled orders included', async () => {
    const first = await api.post('/v2/orders', market({ type: 'limit', limit_price: '100', client_order_id: 'dup' }));
    expect((await api.delete(`/v2/orders/${String(first.body.id)}`)).status).toBe(204);
    const again = await api.post('/v2/orders', market({ client_order_id: 'dup' }));
    expect(again.status).toBe(422);
    expect(again.body).toEqual({ code: 40010001, message: 'client_order_id must be unique' });
    expect(fake.controls.ordersByClientId('dup')).toHaveLength(1);
  });

  it('refuses orders beyond buying power or shares available with 403 bodies', async () => {
    const tooBig = await api.post('/v2/orders', market({ qty: '1400' }));
    expect(tooBig.status).toBe(403);
    expect(tooBig.body).toEqual({ code: 40310000, message: 'insufficient buying power' });
    await api.post('/v2/orders', market());
    const resting = await api.post('/v2/orders', market({ side: 'sell', type: 'limit', limit_price: '200' }));
    const held = await api.post('/v2/orders', market({ side: 'sell', qty: '1' }));
    expect(held.status).toBe(403);
    expect(held.body).toMatchObject({
      code: 40310000,
      message: 'insufficient qty available for order (requested: 1, available: 0)',
      held_for_orders: '10',
      related_orders: [resting.body.id],
    });
  });

  it('validates bodies with 422: extended hours, client id length, brackets, fractional orders', async () => {
    const cases: Array<[Json, string]> = [
      [market({ extended_hours: true }), 'extended hours order must be DAY limit orders'],
      [market({ client_order_id: 'x'.repeat(129) }), 'client_order_id must be no more than 128 characters'],
      [
        market({ qty: '1.5', type: 'limit', limit_price: '150' }),
        'fractional orders must be market orders with time_in_force day',
      ],
      [
        market({ order_class: 'bracket', take_profit: { limit_price: '160' } }),
        'bracket orders require stop_loss.stop_price',
      ],
      [
        market({
          order_class: 'bracket',
          time_in_force: 'ioc',
          take_profit: { limit_price: '160' },
          stop_loss: { stop_price: '140' },
        }),
        'bracket orders must be day or gtc',
      ],
      [
        market({ order_class: 'bracket', take_profit: { limit_price: '130' }, stop_loss: { stop_price: '140' } }),
        'take_profit.limit_price must be > stop_loss.stop_price',
      ],
      [
        market({ order_class: 'oto', take_profit: { limit_price: '160' }, stop_loss: { stop_price: '140' } }),
        'oto orders require exactly one of take_profit or stop_loss',
      ],
      [market({ type: 'limit' }), 'limit_price is required'],
      [market({ symbol: 'NOPE' }), 'asset "NOPE" not found'],
    ];
    for (const [body, message] of cases) {
      const reply = await api.post('/v2/orders', body);
      expect({ status: reply.status, body: reply.body }).toEqual({ status: 422, body: { code: 40010001, message } });
    }
    const close = await api.post(
      '/v2/orders',
      market({ order_class: 'bracket', take_profit: { limit_price: '160' }, stop_loss: { stop_price: '149.995' } }),
    );
    expect(close.status).toBe(422);
    expect(close.body.message).toContain('stop_loss.stop_price must be <= base_price - 0.01');
    expect(fake.state.engine.orders).toHaveLength(0);
  });

  it('rests a limit order until the mark crosses; cancel answers 204, then 422 once terminal', async () => {
    const placed = await api.post('/v2/orders', market({ type: 'limit', limit_price: '140', time_in_force: 'gtc' }));
    expect((await api.get(`/v2/orders/${String(placed.body.id)}`)).body.status).toBe('new');
    fake.controls.setPrice('AAPL', '139.5');
    const filled = await api.get(`/v2/orders/${String(placed.body.id)}`);
    expect(filled.body).toMatchObject({ status: 'filled', filled_avg_price: '139.5' });
    const late = await api.delete(`/v2/orders/${String(placed.body.id)}`);
    expect(late.status).toBe(422);
    expect(late.body).toMatchObject({ code: 40010001 });
    const open = await api.post('/v2/orders', market({ type: 'limit', limit_price: '100' }));
    const cancelled = await api.delete(`/v2/orders/${String(open.body.id)}`);
    expect({ status: cancelled.status, text: cancelled.text }).toEqual({ status: 204, text: '' });
    expect((await api.get(`/v2/orders/${String(open.body.id)}`)).body.status).toBe('canceled');
    expect((await api.get('/v2/orders/not-a-uuid')).body).toEqual({ code: 40010001, message: 'order_id is missing' });
    expect((await api.get('/v2/orders/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('lists orders by status, limit, direction, after/until, symbols and side', async () => {
    const first = await api.post('/v2/orders', market({ client_order_id: 'a' }));
    const second = await api.post('/v2/orders', market({ client_order_id: 'b', type: 'limit', limit_price: '1' }));
    const third = await api.post('/v2/orders', market({ client_order_id: 'c', symbol: 'MSFT', qty: '1' }));
    const ids = (r: { body: Json[] }) => r.body.map((o) => o.client_order_id);
    expect(ids(await api.get<Json[]>('/v2/orders'))).toEqual(['b']);
    expect(ids(await api.get<Json[]>('/v2/orders?status=closed'))).toEqual(['c', 'a']);
    expect(ids(await api.get<Json[]>('/v2/orders?status=all&direction=asc&limit=2'))).toEqual(['a', 'b']);
    const after = encodeURIComponent(String(first.body.submitted_at));
    const until = encodeURIComponent(String(third.body.submitted_at));
    expect(ids(await api.get<Json[]>(`/v2/orders?status=all&after=${after}&until=${until}`))).toEqual(['b']);
    expect(ids(await api.get<Json[]>('/v2/orders?status=all&symbols=MSFT,TSLA'))).toEqual(['c']);
    expect(ids(await api.get<Json[]>('/v2/orders?status=all&side=sell'))).toEqual([]);
    expect(second.body.client_order_id).toBe('b');
  });

  it('holds bracket legs until the entry fills, lists them nested, and cancels the sibling of a filled leg', async () => {
    const placed = await api.post(
      '/v2/orders',
      market({
        type: 'limit',
        limit_price: '145',
        time_in_force: 'gtc',
        order_class: 'bracket',
        take_profit: { limit_price: '160' },
        stop_loss: { stop_price: '140', limit_price: '139' },
      }),
    );
    expect(placed.status).toBe(200);
    const legs = placed.body.legs as Json[];
    expect(legs.map((l) => [l.type, l.side, l.status])).toEqual([
      ['limit', 'sell', 'held'],
      ['stop_limit', 'sell', 'held'],
    ]);
    expect((await api.get<Json[]>('/v2/orders')).body).toHaveLength(3);
    expect((await api.get<Json[]>('/v2/orders?nested=true')).body).toHaveLength(1);
    fake.controls.setPrice('AAPL', '145');
    const entry = await api.get(`/v2/orders/${String(placed.body.id)}?nested=true`);
    expect((entry.body.legs as Json[]).map((l) => l.status)).toEqual(['new', 'new']);
    fake.controls.setPrice('AAPL', '160.25');
    const after = await api.get(`/v2/orders/${String(placed.body.id)}?nested=true`);
    expect((after.body.legs as Json[]).map((l) => l.status)).toEqual(['filled', 'canceled']);
    expect((await api.get('/v2/positions/AAPL')).status).toBe(404);
  });

  it('replaces an order with PATCH: a new id that replaces the old, which ends replaced', async () => {
    const old = await api.post('/v2/orders', market({ type: 'limit', limit_price: '100', client_order_id: 'orig' }));
    const next = await api.patch(`/v2/orders/${String(old.body.id)}`, { limit_price: '101', qty: '5' });
    expect(next.status).toBe(200);
    expect(next.body).toMatchObject({ replaces: old.body.id, limit_price: '101', qty: '5' });
    expect(next.body.id).not.toBe(old.body.id);
    const original = await api.get('/v2/orders:by_client_order_id?client_order_id=orig');
    expect(original.body).toMatchObject({ status: 'replaced', replaced_by: next.body.id });
  });

  it('closes a position with an Order, and all positions with 207', async () => {
    await api.post('/v2/orders', market());
    const partial = await api.delete('/v2/positions/AAPL?percentage=50');
    expect(partial.status).toBe(200);
    expect(partial.body).toMatchObject({ symbol: 'AAPL', side: 'sell', qty: '5', type: 'market' });
    expect((await api.get('/v2/positions/AAPL')).body.qty).toBe('5');
    await api.post('/v2/orders', market({ symbol: 'MSFT', qty: '2', side: 'sell' }));
    const all = await api.delete<Json[]>('/v2/positions?cancel_orders=true');
    expect(all.status).toBe(207);
    expect(all.body.map((r) => [r.symbol, r.status])).toEqual([
      ['AAPL', 200],
      ['MSFT', 200],
    ]);
    expect((await api.get('/v2/positions')).body).toEqual([]);
    expect((await api.delete('/v2/positions/AAPL')).status).toBe(404);
  });
});
