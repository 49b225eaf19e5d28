/** The Alpaca adapter against the Alpaca fake: every BrokerAdapter method, per BROKERS.md §1 and §4. */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ALPACA_PACING, createAlpacaAdapter } from '../../server/brokers/alpaca/index.ts';
import { commonStatus } from '../../server/brokers/alpaca/mapping.ts';
import { orderBody } from '../../server/brokers/alpaca/orders.ts';
import { BrokerRejected } from '../../server/brokers/errors.ts';
import { noPacing } from '../../server/brokers/pacing.ts';
import type { OrderRequest } from '../../server/brokers/types.ts';
import { type FakeAlpaca, startFakeAlpaca } from '../fakes/alpaca.ts';
import { httpClient } from '../fakes/testing.ts';

const KEYS = { keyId: 'PKFAKEKEY0000000001', secretKey: 'fake-secret' };
const fake: FakeAlpaca = await startFakeAlpaca();
const adapter = createAlpacaAdapter({ baseUrl: fake.url, environment: 'paper', credentials: KEYS, pacer: noPacing });
afterAll(() => fake.close());
beforeEach(() => fake.controls.reset());

let seq = 0;
const order = (extra: Partial<OrderRequest> = {}): OrderRequest => {
  seq += 1;
  return {
    clientOrderId: `fp-${seq}`,
    symbol: 'AAPL',
    side: 'buy',
    quantity: '10',
    orderType: 'market',
    timeInForce: 'day',
    ...extra,
  };
};
/** A buy limit far below the mark: it rests (AAPL trades at 150). */
const resting = (extra: Partial<OrderRequest> = {}) =>
  order({ orderType: 'limit', limitPrice: '100', timeInForce: 'gtc', ...extra });

describe('Alpaca adapter: order body', () => {
  it('sends decimals as exact strings and picks the order class from the exits', () => {
    const simple = orderBody(order({ quantity: '1.50', orderType: 'stop_limit', limitPrice: '101', stopPrice: '1e2' }));
    expect(simple).toMatchObject({ qty: '1.5', limit_price: '101', stop_price: '100', order_class: 'simple' });
    expect(orderBody(order({ limitPrice: '5' })).limit_price).toBeUndefined(); // never a price on a market order
    const bracket = orderBody(
      resting({ takeProfit: { limitPrice: '120' }, stopLoss: { stopPrice: '90', limitPrice: '89.5' } }),
    );
    expect(bracket).toMatchObject({
      order_class: 'bracket',
      take_profit: { limit_price: '120' },
      stop_loss: { stop_price: '90', limit_price: '89.5' },
    });
    expect(orderBody(resting({ stopLoss: { stopPrice: '90' } }))).toMatchObject({
      order_class: 'oto',
      stop_loss: { stop_price: '90' },
    });
    expect(orderBody(resting({ stopLoss: { stopPrice: '90' } })).take_profit).toBeUndefined();
  });

  it('refuses what Alpaca would refuse before sending it: long client ids, non-day/gtc brackets', () => {
    expect(() => orderBody(order({ clientOrderId: 'x'.repeat(129) }))).toThrow(BrokerRejected);
    expect(orderBody(order({ clientOrderId: 'x'.repeat(128) })).client_order_id).toHaveLength(128);
    const ioc = resting({ timeInForce: 'ioc', takeProfit: { limitPrice: '120' }, stopLoss: { stopPrice: '90' } });
    expect(() => orderBody(ioc)).toThrow(/day or gtc/);
  });
});

describe('Alpaca adapter: orders', () => {
  it('submits a market order and reads it back filled, by client id and by id', async () => {
    const placed = await adapter.submitOrder(order({ clientOrderId: 'cid-market' }));
    expect(placed).toMatchObject({ clientOrderId: 'cid-market', symbol: 'AAPL', side: 'buy', quantity: '10' });
    expect(placed).toMatchObject({
      orderType: 'market',
      status: 'submitted',
      brokerStatus: 'accepted',
      filledQty: '0',
    });
    expect(placed.submittedAt).toBeInstanceOf(Date);
    expect(placed.fills).toBeUndefined(); // cumulative only: the order service synthesizes fills
    const byClient = await adapter.getOrderByClientId('cid-market');
    expect(byClient).toMatchObject({ brokerOrderId: placed.brokerOrderId, status: 'filled', filledQty: '10' });
    expect(byClient?.avgFillPrice).toBe('150');
    expect(await adapter.getOrder(placed.brokerOrderId)).toMatchObject({ status: 'filled', filledQty: '10' });
  });

  it('answers null for an order Alpaca does not know, by client id, by id and for a malformed id', async () => {
    expect(await adapter.getOrderByClientId('fp-unknown')).toBeNull();
    expect(await adapter.getOrder('00000000-0000-4000-8000-000000000000')).toBeNull();
    expect(await adapter.getOrder('not-a-uuid')).toBeNull();
  });

  it('places a bracket whose exits wait (held) under the entry, and lists it as one open order', async () => {
    const placed = await adapter.submitOrder(
      resting({ clientOrderId: 'cid-bracket', takeProfit: { limitPrice: '120' }, stopLoss: { stopPrice: '90' } }),
    );
    expect(fake.controls.ordersByClientId('cid-bracket')[0]?.ext.orderClass).toBe('bracket');
    expect(placed.legs?.map((leg) => [leg.side, leg.orderType, leg.brokerStatus, leg.status])).toEqual([
      ['sell', 'limit', 'held', 'submitted'],
      ['sell', 'stop', 'held', 'submitted'],
    ]);
    expect(placed.legs?.map((leg) => leg.limitPrice ?? leg.stopPrice)).toEqual(['120', '90']);
    const open = await adapter.getOpenOrders();
    expect(open.map((o) => o.brokerOrderId)).toEqual([placed.brokerOrderId]);
    expect(open[0]).toMatchObject({ status: 'accepted', brokerStatus: 'new', limitPrice: '100' });
    expect(open[0]?.legs).toHaveLength(2);
    const byClient = await adapter.getOrderByClientId('cid-bracket'); // the by-client endpoint has no `nested`
    expect(byClient?.legs?.map((leg) => leg.brokerStatus)).toEqual(['held', 'held']);
  });

  it('places an OTO with its single exit', async () => {
    const placed = await adapter.submitOrder(resting({ clientOrderId: 'cid-oto', takeProfit: { limitPrice: '120' } }));
    expect(fake.controls.ordersByClientId('cid-oto')[0]?.ext.orderClass).toBe('oto');
    expect(placed.legs?.map((leg) => leg.limitPrice)).toEqual(['120']);
  });

  it('reports a partial fill, and a cancelled order keeps its filled quantity', async () => {
    const placed = await adapter.submitOrder(resting({ clientOrderId: 'cid-partial' }));
    fake.controls.fillOrder(placed.brokerOrderId, { qty: '4', price: '99.5' });
    const partial = await adapter.getOrder(placed.brokerOrderId);
    expect(partial).toMatchObject({ status: 'partially_filled', filledQty: '4', avgFillPrice: '99.5' });
    await adapter.cancelOrder(placed.brokerOrderId);
    const cancelled = await adapter.getOrder(placed.brokerOrderId);
    expect(cancelled).toMatchObject({ status: 'cancelled', brokerStatus: 'canceled', filledQty: '4' });
  });

  it('cancels with 204; cancelling a final order or an unknown one is a BrokerRejected', async () => {
    const placed = await adapter.submitOrder(resting());
    await expect(adapter.cancelOrder(placed.brokerOrderId)).resolves.toBeUndefined();
    const again = adapter.cancelOrder(placed.brokerOrderId);
    await expect(again).rejects.toBeInstanceOf(BrokerRejected);
    await expect(again).rejects.toThrow(/rejected the cancel request: order is already in "canceled" state/);
    const unknown = adapter.cancelOrder('00000000-0000-4000-8000-000000000000');
    await expect(unknown).rejects.toMatchObject({
      message: expect.stringMatching(/rejected the cancel request: order not found/),
    });
    await expect(unknown).rejects.toMatchObject({ brokerCode: '40410000' });
  });

  it('follows replaced_by from a replaced order to its live replacement', async () => {
    const placed = await adapter.submitOrder(resting({ clientOrderId: 'cid-replaced' }));
    const api = httpClient(fake.url, { 'APCA-API-KEY-ID': KEYS.keyId, 'APCA-API-SECRET-KEY': KEYS.secretKey });
    const patched = await api.patch(`/v2/orders/${placed.brokerOrderId}`, { limit_price: '101' });
    expect(patched.status).toBe(200);
    const found = await adapter.getOrderByClientId('cid-replaced');
    expect(found).toMatchObject({ brokerOrderId: patched.body.id, limitPrice: '101', status: 'accepted' });
    expect(await adapter.getOrder(placed.brokerOrderId)).toMatchObject({ brokerOrderId: patched.body.id });
  });

  it('maps a replaced order whose replacement is gone to cancelled', async () => {
    const placed = await adapter.submitOrder(resting({ clientOrderId: 'cid-orphan' }));
    const old = fake.controls.ordersByClientId('cid-orphan')[0];
    if (!old) throw new Error('fake lost the order');
    old.status = 'replaced';
    old.ext.replacedBy = '00000000-0000-4000-8000-000000000000';
    const found = await adapter.getOrder(placed.brokerOrderId);
    expect(found).toMatchObject({ brokerOrderId: placed.brokerOrderId, status: 'cancelled', brokerStatus: 'replaced' });
    expect(found?.reason).toMatch(/replaced at Alpaca/);
  });

  it('reads every open order past one page of 500', { timeout: 60_000 }, async () => {
    const total = 503;
    for (let i = 0; i < total; i += 50) {
      const batch = Array.from({ length: Math.min(50, total - i) }, () =>
        adapter.submitOrder(resting({ quantity: '1', limitPrice: '1' })),
      );
      await Promise.all(batch);
    }
    const open = await adapter.getOpenOrders();
    expect(open).toHaveLength(total);
    expect(new Set(open.map((o) => o.brokerOrderId)).size).toBe(total);
  });
});

describe('Alpaca adapter: status mapping (§4)', () => {
  it('maps every Alpaca status word, deriving fills for working orders', () => {
    const cases: [string, string][] = [
      ['pending_new', 'submitted'],
      ['accepted', 'submitted'],
      ['accepted_for_bidding', 'submitted'],
      ['held', 'submitted'],
      ['new', 'accepted'],
      ['pending_cancel', 'accepted'],
      ['pending_replace', 'accepted'],
      ['stopped', 'accepted'],
      ['suspended', 'accepted'],
      ['done_for_day', 'accepted'],
      ['calculated', 'accepted'],
      ['partially_filled', 'partially_filled'],
      ['filled', 'filled'],
      ['canceled', 'cancelled'],
      ['replaced', 'cancelled'],
      ['rejected', 'rejected'],
      ['expired', 'expired'],
      ['something_new', 'submitted'],
    ];
    for (const [status, common] of cases) expect([status, commonStatus(status, '10', '0')]).toEqual([status, common]);
    expect(commonStatus('pending_cancel', '10', '3')).toBe('partially_filled');
    expect(commonStatus('calculated', '10', '10')).toBe('filled');
    expect(commonStatus('canceled', '10', '3')).toBe('cancelled');
    expect(commonStatus('expired', '10', '3')).toBe('expired');
  });
});

describe('Alpaca adapter: positions, account, session', () => {
  it('reports positions with signed quantities: shorts are negative', async () => {
    await adapter.submitOrder(order({ symbol: 'AAPL', quantity: '10' }));
    await adapter.submitOrder(order({ symbol: 'MSFT', side: 'sell', quantity: '3' }));
    await fake.controls.waitFor(() => fake.state.engine.orders.every((o) => o.status === 'filled'));
    fake.controls.setPrice('AAPL', '155');
    const positions = await adapter.getPositions();
    const bySymbol = Object.fromEntries(positions.map((p) => [p.symbol, p]));
    expect(bySymbol.AAPL).toEqual({
      symbol: 'AAPL',
      quantity: '10',
      avgEntryPrice: '150',
      marketPrice: '155',
      unrealizedPnl: '50',
    });
    expect(bySymbol.MSFT).toMatchObject({ quantity: '-3', avgEntryPrice: '400' });
  });

  it('reads the account: equity, cash, buying power, status and the blocking flags', async () => {
    const account = await adapter.getAccount();
    expect(account).toEqual({
      accountId: 'PA3000000000',
      currency: 'USD',
      equity: '100000',
      cash: '100000',
      buyingPower: '200000',
      status: 'ACTIVE',
      tradingBlocked: false,
    });
    fake.controls.configure({ tradingBlocked: true });
    expect((await adapter.getAccount()).tradingBlocked).toBe(true);
  });

  it('checks and renews the session by reading the account; bad keys are ok:false, never a throw', async () => {
    expect(await adapter.checkSession()).toEqual({ ok: true, expiresAt: null });
    expect(await adapter.renewSession()).toEqual({ ok: true, expiresAt: null });
    const badKeys = createAlpacaAdapter({
      baseUrl: fake.url,
      environment: 'paper',
      credentials: { ...KEYS, secretKey: 'wrong' },
      pacer: noPacing,
    });
    const failed = await badKeys.checkSession();
    expect(failed).toMatchObject({ ok: false, reason: expect.stringMatching(/rejected the API keys/) });
    expect(failed.reason).not.toContain('wrong');
    fake.controls.configure({ badSecretStatus: 403 });
    expect(await badKeys.renewSession()).toMatchObject({ ok: false, reason: expect.stringMatching(/forbidden/) });
  });

  it('exports the 200-requests-per-minute budget', () => {
    expect(ALPACA_PACING).toEqual({ default: { points: 200, windowSeconds: 60 } });
  });
});
