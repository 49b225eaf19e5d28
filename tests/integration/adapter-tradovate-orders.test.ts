/**
 * The Tradovate adapter's account, orders and positions against the Tradovate fake (BROKERS.md §2.2–§2.5, §2.7,
 * §4): order bodies, failure bodies inside HTTP 200, orders composed from Order/OrderVersion/Fill/Command, client
 * id lookup, the dropped-response idempotency scenario, brackets, cancellation and positions by contract name.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { BrokerRejected, BrokerUnavailable } from '../../server/brokers/errors.ts';
import { createPacer } from '../../server/brokers/pacing.ts';
import { pickAccount } from '../../server/brokers/tradovate/adapter.ts';
import { placement } from '../../server/brokers/tradovate/bodies.ts';
import { createTradovateAdapter, TRADOVATE_PACING } from '../../server/brokers/tradovate/index.ts';
import { commonStatus } from '../../server/brokers/tradovate/mapping.ts';
import type { BrokerAdapter, OrderRequest } from '../../server/brokers/types.ts';
import { type FakeTradovate, startFakeTradovate } from '../fakes/tradovate.ts';

const fake: FakeTradovate = await startFakeTradovate();
afterAll(() => fake.close());
let adapter: BrokerAdapter;
beforeEach(() => {
  fake.controls.reset();
  adapter = createTradovateAdapter({
    baseUrl: fake.url,
    environment: 'paper',
    credentials: {
      name: 'fakeuser',
      password: 'fake-password',
      appId: 'Fillpath',
      appVersion: '1.0',
      cid: 8,
      sec: 'fake-sec',
    },
    pacer: createPacer('tradovate-test', TRADOVATE_PACING),
  });
});

let seq = 0;
const order = (extra: Partial<OrderRequest> = {}): OrderRequest => {
  seq += 1;
  return {
    clientOrderId: `fp-${seq}`,
    symbol: 'ESZ5',
    side: 'buy',
    quantity: '2',
    orderType: 'market',
    timeInForce: 'day',
    ...extra,
  };
};
/** A buy limit far below the mark (ESZ5 trades at 5000): it rests. */
const resting = (extra: Partial<OrderRequest> = {}) => order({ orderType: 'limit', limitPrice: '4000', ...extra });

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

describe('Tradovate adapter: account and positions', () => {
  it('resolves the first active account and reads the cash balance snapshot', async () => {
    const account = await adapter.getAccount();
    expect(account).toEqual({
      accountId: 'DEMO700001',
      currency: 'USD',
      equity: '50000',
      cash: '50000',
      buyingPower: '50000',
      status: 'Active',
      tradingBlocked: false,
    });
  });

  it('trades the first active, unarchived account', () => {
    const accounts = [
      { id: 1, name: 'OLD', active: false },
      { id: 2, name: 'GONE', active: true, archived: true },
      { id: 3, name: 'LIVE3', active: true },
      { id: 4, name: 'LIVE4', active: true },
    ];
    expect(pickAccount(accounts)).toEqual({ id: 3, name: 'LIVE3' });
    expect(pickAccount(accounts, 'LIVE4')).toEqual({ id: 4, name: 'LIVE4' });
    expect(() => pickAccount(accounts.slice(0, 2))).toThrow(BrokerRejected);
  });

  it('lists positions by contract name with signed netPos and netPrice, without flat rows', async () => {
    await adapter.submitOrder(order({ quantity: '2' }));
    await adapter.submitOrder(order({ symbol: 'MESZ5', side: 'sell', quantity: '3' }));
    await adapter.submitOrder(order({ symbol: 'NQZ5', quantity: '1' }));
    await adapter.submitOrder(order({ symbol: 'NQZ5', side: 'sell', quantity: '1' })); // flat again
    const positions = await adapter.getPositions();
    expect(positions.sort((a, b) => a.symbol.localeCompare(b.symbol))).toEqual([
      { symbol: 'ESZ5', quantity: '2', avgEntryPrice: '5000', marketPrice: null, unrealizedPnl: null },
      { symbol: 'MESZ5', quantity: '-3', avgEntryPrice: '5000', marketPrice: null, unrealizedPnl: null },
    ]);
  });

  it('maps an errorText body of the cash balance snapshot to BrokerRejected', async () => {
    fake.controls.failNext(1, {
      status: 200,
      body: { errorText: 'Account is archived', ok: false },
      path: '/cashBalance/getcashbalancesnapshot',
    });
    const error = await failure(adapter.getAccount());
    expect(error).toBeInstanceOf(BrokerRejected);
    expect(error.message).toMatch(/Account is archived/);
  });
});

describe('Tradovate adapter: placing orders', () => {
  it('builds PlaceOrder / PlaceOSO bodies per §2.3 and refuses what Tradovate cannot take', () => {
    const account = { id: 700001, name: 'DEMO700001' };
    expect(placement(order({ clientOrderId: 'fp-x', limitPrice: '5' }), account)).toMatchObject({
      path: '/order/placeorder',
      body: { accountSpec: 'DEMO700001', accountId: 700001, clOrdId: 'fp-x', action: 'Buy', symbol: 'ESZ5' },
    });
    expect(placement(order({ limitPrice: '5' }), account).body).not.toHaveProperty('price');
    const bracket = placement(
      resting({ clientOrderId: 'fp-b', takeProfit: { limitPrice: '4100' }, stopLoss: { stopPrice: '3900' } }),
      account,
    );
    expect(bracket.path).toBe('/order/placeoso');
    expect(bracket.body).toMatchObject({
      orderType: 'Limit',
      price: 4000,
      isAutomated: true,
      bracket1: { action: 'Sell', orderType: 'Limit', price: 4100, clOrdId: 'fp-b-tp' },
      bracket2: { action: 'Sell', orderType: 'Stop', stopPrice: 3900, clOrdId: 'fp-b-sl' },
    });
    expect(() => placement(order({ quantity: '1.5' }), account)).toThrow(/whole contracts/);
    expect(() => placement(order({ timeInForce: 'opg' }), account)).toThrow(BrokerRejected);
  });

  it('places a market order automated with our clOrdId; it fills and carries the broker fill ids', async () => {
    const placed = await adapter.submitOrder(order({ clientOrderId: 'fp-market' }));
    const stored = fake.controls.ordersByClientId('fp-market');
    expect(stored).toHaveLength(1);
    expect(stored[0]?.ext).toMatchObject({ isAutomated: true, accountId: 700001, action: 'Buy', orderType: 'Market' });
    expect(placed).toMatchObject({
      brokerOrderId: String(stored[0]?.ext.numericId),
      clientOrderId: 'fp-market',
      symbol: 'ESZ5',
      side: 'buy',
      quantity: '2',
      orderType: 'market',
      status: 'filled',
      brokerStatus: 'Filled',
      filledQty: '2',
      avgFillPrice: '5000',
    });
    const again = await adapter.getOrder(placed.brokerOrderId);
    expect(again).toMatchObject({ status: 'filled', clientOrderId: 'fp-market', quantity: '2', symbol: 'ESZ5' });
    expect(again?.fills).toEqual([
      { brokerFillId: expect.stringMatching(/^\d+$/), quantity: '2', price: '5000', filledAt: expect.any(Date) },
    ]);
  });

  it('places a bracket as an OSO: the entry with two exit legs waiting for it', async () => {
    const placed = await adapter.submitOrder(
      resting({ clientOrderId: 'fp-oso', takeProfit: { limitPrice: '4100' }, stopLoss: { stopPrice: '3900' } }),
    );
    expect(placed).toMatchObject({ status: 'accepted', brokerStatus: 'Working', limitPrice: '4000' });
    expect(placed.legs).toEqual([
      expect.objectContaining({ clientOrderId: 'fp-oso-tp', side: 'sell', orderType: 'limit', limitPrice: '4100' }),
      expect.objectContaining({ clientOrderId: 'fp-oso-sl', side: 'sell', orderType: 'stop', stopPrice: '3900' }),
    ]);
    expect(placed.legs?.map((leg) => leg.brokerStatus)).toEqual(['Suspended', 'Suspended']);
    expect(fake.state.engine.orders).toHaveLength(3);
  });

  it('maps every failure body of §2.5 to BrokerRejected with the broker text', async () => {
    fake.controls.rejectNextOrder({ failureReason: 'MaxPosLimitReached', failureText: 'Max position limit reached' });
    const limit = await failure(adapter.submitOrder(order()));
    expect(limit).toBeInstanceOf(BrokerRejected);
    expect(limit.message).toMatch(/Max position limit reached/);
    expect((limit as BrokerRejected).brokerCode).toBe('MaxPosLimitReached');
    const unknown = await failure(adapter.submitOrder(order({ symbol: 'ZZZ9' })));
    expect(unknown).toBeInstanceOf(BrokerRejected);
    expect((unknown as BrokerRejected).brokerCode).toBe('InvalidContract');
    fake.controls.failNext(1, {
      status: 200,
      body: { violations: [{ constraint: 'NotNull', value: null, description: 'symbol: required' }] },
      path: '/order/placeorder',
    });
    const invalid = await failure(adapter.submitOrder(order()));
    expect(invalid).toBeInstanceOf(BrokerRejected);
    expect(invalid.message).toMatch(/symbol: required/);
    fake.controls.failNext(1, {
      status: 200,
      body: { errorText: 'Trading is closed', ok: false },
      path: '/order/placeorder',
    });
    expect((await failure(adapter.submitOrder(order()))).message).toMatch(/Trading is closed/);
    fake.controls.rateLimitNext(1, { path: '/order/placeorder' });
    expect(await failure(adapter.submitOrder(order()))).toBeInstanceOf(BrokerUnavailable);
    fake.controls.failNext(1, { status: 500, path: '/order/placeorder' });
    expect(await failure(adapter.submitOrder(order()))).toBeInstanceOf(BrokerUnavailable);
    expect(fake.state.engine.orders).toHaveLength(0);
  });
});

describe('Tradovate adapter: lookups, status and cancellation', () => {
  it('finds an order by client id through /command/list; unknown ids answer null', async () => {
    const placed = await adapter.submitOrder(resting({ clientOrderId: 'fp-look' }));
    const found = await adapter.getOrderByClientId('fp-look');
    expect(found).toMatchObject({ brokerOrderId: placed.brokerOrderId, clientOrderId: 'fp-look', status: 'accepted' });
    expect(await adapter.getOrderByClientId('fp-nobody')).toBeNull();
    expect(await adapter.getOrder('999999999')).toBeNull();
    expect(await adapter.getOrder('not-an-id')).toBeNull();
  });

  it('lists open orders with their terms; cancels one; a filled order cannot be cancelled', async () => {
    const working = await adapter.submitOrder(resting({ clientOrderId: 'fp-open', quantity: '3' }));
    await adapter.submitOrder(order({ clientOrderId: 'fp-done' }));
    const open = await adapter.getOpenOrders();
    expect(open).toEqual([
      expect.objectContaining({ clientOrderId: 'fp-open', quantity: '3', limitPrice: '4000', status: 'accepted' }),
    ]);
    await adapter.cancelOrder(working.brokerOrderId);
    expect(await adapter.getOrder(working.brokerOrderId)).toMatchObject({
      status: 'cancelled',
      brokerStatus: 'Canceled',
    });
    expect(await adapter.getOpenOrders()).toEqual([]);
    const filled = await adapter.getOrderByClientId('fp-done');
    const error = await failure(adapter.cancelOrder(filled?.brokerOrderId ?? ''));
    expect(error).toBeInstanceOf(BrokerRejected);
    expect((error as BrokerRejected).brokerCode).toBe('TooLate');
  });

  it('derives partially_filled from fills; a cancelled partial fill keeps its quantity', async () => {
    fake.controls.configureFills({ mode: 'manual' });
    const placed = await adapter.submitOrder(order({ quantity: '3' }));
    expect(placed.status).toBe('accepted');
    fake.controls.fillOrder(placed.brokerOrderId, { qty: '1', price: '5001.25' });
    const partial = await adapter.getOrder(placed.brokerOrderId);
    expect(partial).toMatchObject({ status: 'partially_filled', brokerStatus: 'Working', filledQty: '1' });
    expect(partial?.avgFillPrice).toBe('5001.25');
    await adapter.cancelOrder(placed.brokerOrderId);
    expect(await adapter.getOrder(placed.brokerOrderId)).toMatchObject({ status: 'cancelled', filledQty: '1' });
  });

  it('reads Completed by its fills ([U]): filled when complete, cancelled otherwise', async () => {
    fake.controls.configure({ filledStatus: 'Completed', canceledStatus: 'Completed' });
    const filled = await adapter.submitOrder(order());
    expect(filled).toMatchObject({ brokerStatus: 'Completed', status: 'filled' });
    const idle = await adapter.submitOrder(resting());
    await adapter.cancelOrder(idle.brokerOrderId);
    expect(await adapter.getOrder(idle.brokerOrderId)).toMatchObject({
      brokerStatus: 'Completed',
      status: 'cancelled',
    });
    expect(commonStatus('Completed', '1', '3')).toBe('cancelled');
    expect(commonStatus('Unknown', '0', null)).toBe('pending');
    expect(commonStatus('PendingNew', '0', '1')).toBe('submitted');
    expect(commonStatus('Expired', '0', '1')).toBe('expired');
  });

  it('reports the rejection of an order rejected after acknowledgement', async () => {
    fake.controls.rejectNextAccepted(1);
    const placed = await adapter.submitOrder(resting());
    const read = await adapter.getOrder(placed.brokerOrderId);
    expect(read).toMatchObject({ status: 'rejected', brokerStatus: 'Rejected' });
    expect(read?.reason).toEqual(expect.any(String));
  });
});

describe('Tradovate adapter: idempotency and aborts', () => {
  it('dropped response: the order exists once; lookup and resubmit both find it', async () => {
    fake.controls.dropNextResponse({ path: '/order/placeorder' });
    const request = resting({ clientOrderId: 'fp-drop' });
    expect(await failure(adapter.submitOrder(request))).toBeInstanceOf(BrokerUnavailable);
    const found = await adapter.getOrderByClientId('fp-drop');
    expect(found).toMatchObject({ clientOrderId: 'fp-drop', status: 'accepted' });
    // A resubmit that the broker refuses as a duplicate clOrdId resolves to the existing order.
    fake.controls.configure({ rejectDuplicateClOrdId: true });
    const again = await adapter.submitOrder(request);
    expect(again.brokerOrderId).toBe(found?.brokerOrderId);
    expect(fake.controls.ordersByClientId('fp-drop')).toHaveLength(1);
  });

  it('an abort cancels a hung placeorder promptly with BrokerUnavailable', async () => {
    await adapter.getAccount();
    fake.controls.hangNext({ path: '/order/placeorder', process: false });
    const started = Date.now();
    const error = await failure(adapter.submitOrder(order(), { signal: AbortSignal.timeout(150) }));
    expect(error).toBeInstanceOf(BrokerUnavailable);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
