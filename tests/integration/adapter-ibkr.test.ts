/**
 * The IBKR gateway adapter against the IBKR fake (BROKERS.md §3): session and per-session chores, orders with
 * order-reply questions, idempotency by cOID, lookups, cancel, positions paged by 100, account.
 * Error mapping, aborts, pacing and TLS are in adapter-ibkr-errors.test.ts.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { BrokerAuthExpired, BrokerRejected } from '../../server/brokers/errors.ts';
import { createIbkrAdapter } from '../../server/brokers/ibkr/adapter.ts';
import { noPacing } from '../../server/brokers/pacing.ts';
import type { BrokerAdapter, OrderRequest } from '../../server/brokers/types.ts';
import { DEFAULT_IBKR_CONTRACTS, type FakeIbkr, startFakeIbkr } from '../fakes/ibkr.ts';

const ACCT = 'DU1234567';
// 105 stocks, so positions need two pages of 100; an ES future that has not expired (the default one has).
const many = Array.from({ length: 105 }, (_, i) => ({
  conid: 1000 + i,
  symbol: `S${i}`,
  secType: 'STK' as const,
  exchange: 'NASDAQ',
  listingExchange: 'NASDAQ',
  companyName: `STOCK ${i}`,
  multiplier: '1',
  price: '10',
}));
const esCurrent = {
  conid: 600000001,
  symbol: 'ES',
  secType: 'FUT' as const,
  exchange: 'CME',
  listingExchange: 'CME',
  companyName: 'E-mini S&P 500',
  multiplier: '50',
  expiry: '20991218',
  price: '5000',
};
const fake: FakeIbkr = await startFakeIbkr({
  authenticated: true,
  contracts: [...DEFAULT_IBKR_CONTRACTS, esCurrent, ...many],
});
afterAll(() => fake.close());

let adapter: BrokerAdapter;
let seq = 0;
beforeEach(() => {
  fake.controls.reset();
  adapter = createIbkrAdapter({
    baseUrl: fake.url,
    environment: 'paper',
    credentials: { accountId: ACCT },
    pacer: noPacing,
  });
});

const order = (extra: Partial<OrderRequest> = {}): OrderRequest => ({
  clientOrderId: `fp-${++seq}`,
  symbol: 'AAPL',
  side: 'buy',
  quantity: '10',
  orderType: 'market',
  timeInForce: 'day',
  ...extra,
});
const question = (id: string) => ({ message: [`Question ${id}: are you sure?`], messageIds: [id] });
const stored = (clientOrderId: string) => fake.controls.ordersByClientId(clientOrderId);

describe('IBKR adapter: session', () => {
  it('checks auth status, tickles, and reports an expired gateway login as ok:false and BrokerAuthExpired', async () => {
    expect(await adapter.checkSession()).toEqual({ ok: true, expiresAt: null });
    const renewed = await adapter.renewSession();
    expect(renewed.ok).toBe(true);
    expect(renewed.expiresAt?.getTime()).toBeGreaterThan(Date.now());
    fake.controls.expireSession();
    const check = await adapter.checkSession();
    expect(check.ok).toBe(false);
    expect(check.reason).toMatch(/log in to the gateway again/);
    expect((await adapter.renewSession()).ok).toBe(false);
    const error = await adapter.submitOrder(order()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerAuthExpired);
    expect((error as Error).message).toBe('IBKR gateway session expired: log in to the gateway again');
    // A new login is a new session: /iserver/accounts (enforced by the fake) is called again.
    fake.controls.login();
    expect((await adapter.submitOrder(order())).status).toBe('accepted');
  });

  it('calls /iserver/accounts before order calls, and again when the gateway has a session it has not seen', async () => {
    expect(fake.state.config.requireAccountsCall).toBe(true);
    const first = await adapter.submitOrder(order());
    expect(fake.state.session.accountsFetched).toBe(true);
    fake.controls.login(); // a new session between two calls: the gateway answers "query /iserver/accounts first"
    expect(fake.state.session.accountsFetched).toBe(false);
    const second = await adapter.submitOrder(order());
    expect(second.brokerOrderId).not.toBe(first.brokerOrderId);
    expect(await adapter.getOpenOrders()).toEqual([]);
  });

  it('restores a dropped brokerage session (ssodh/init) but never takes over a competing one', async () => {
    fake.controls.dropBrokerageSession();
    expect((await adapter.checkSession()).ok).toBe(false);
    expect(await adapter.renewSession()).toMatchObject({ ok: true });
    expect(fake.state.session.authenticated).toBe(true);
    fake.controls.dropBrokerageSession();
    expect((await adapter.submitOrder(order())).status).toBe('accepted'); // restored inline, then placed
    fake.controls.dropBrokerageSession({ competing: true });
    const renewed = await adapter.renewSession();
    expect(renewed.ok).toBe(false);
    expect(renewed.reason).toMatch(/another login/);
    expect(fake.state.session.authenticated).toBe(false);
    await expect(adapter.submitOrder(order())).rejects.toBeInstanceOf(BrokerAuthExpired);
  });

  it('refuses an account the gateway login does not have', async () => {
    const other = createIbkrAdapter({
      baseUrl: fake.url,
      environment: 'paper',
      credentials: { accountId: 'DU7654321' },
      pacer: noPacing,
    });
    const error = await other.submitOrder(order()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerAuthExpired);
    expect((error as Error).message).toMatch(/DU7654321 is not available in the gateway login \(it has DU1234567\)/);
  });
});

describe('IBKR adapter: orders', () => {
  it('places a market order by conid and reads it back filled, with executions as fills', async () => {
    const request = order();
    const placed = await adapter.submitOrder(request);
    expect(placed).toMatchObject({
      brokerOrderId: expect.stringMatching(/^\d+$/),
      clientOrderId: request.clientOrderId,
      symbol: 'AAPL',
      side: 'buy',
      quantity: '10',
      status: 'accepted',
      brokerStatus: 'Submitted',
    });
    expect(stored(request.clientOrderId)[0]?.ext).toMatchObject({ conid: 265598, orderType: 'MKT', tif: 'DAY' });
    const read = await adapter.getOrder(placed.brokerOrderId);
    expect(read).toMatchObject({ status: 'filled', filledQty: '10', avgFillPrice: '150', symbol: 'AAPL' });
    expect(read?.fills).toEqual([
      {
        brokerFillId: expect.stringMatching(/^0000e0d5\./),
        quantity: '10',
        price: '150',
        commission: '1',
        filledAt: expect.any(Date),
      },
    ]);
    expect(await adapter.getOrderByClientId(request.clientOrderId)).toMatchObject({
      brokerOrderId: placed.brokerOrderId,
      status: 'filled',
      filledQty: '10',
    });
  });

  it('sends limit, stop and stop-limit tickets per §3.4 and maps them back', async () => {
    const limit = await adapter.submitOrder(order({ orderType: 'limit', limitPrice: '140', timeInForce: 'gtc' }));
    const stop = await adapter.submitOrder(order({ side: 'sell', orderType: 'stop', stopPrice: '120' }));
    const stopLimit = await adapter.submitOrder(
      order({ orderType: 'stop_limit', stopPrice: '160', limitPrice: '161', quantity: '2' }),
    );
    expect(stored(limit.clientOrderId ?? '')[0]?.ext).toMatchObject({ orderType: 'LMT', price: '140', tif: 'GTC' });
    expect(stored(stop.clientOrderId ?? '')[0]?.ext).toMatchObject({ orderType: 'STP', price: '120' });
    expect(stored(stopLimit.clientOrderId ?? '')[0]?.ext).toMatchObject({
      orderType: 'STOP_LIMIT',
      price: '161',
      auxPrice: '160',
    });
    expect(await adapter.getOrder(limit.brokerOrderId)).toMatchObject({
      orderType: 'limit',
      status: 'accepted',
      limitPrice: '140',
      stopPrice: null,
    });
    expect(await adapter.getOrder(stop.brokerOrderId)).toMatchObject({
      orderType: 'stop',
      status: 'submitted', // PreSubmitted: a stop not yet triggered
      brokerStatus: 'PreSubmitted',
      side: 'sell',
      stopPrice: '120',
    });
    expect(await adapter.getOrder(stopLimit.brokerOrderId)).toMatchObject({
      orderType: 'stop_limit',
      limitPrice: '161',
      stopPrice: '160',
    });
    await expect(adapter.submitOrder(order({ timeInForce: 'fok' }))).rejects.toBeInstanceOf(BrokerRejected);
  });

  it('places a bracket: parent with the cOID, exits with parentId; found again with its legs', async () => {
    fake.controls.configureFills({ mode: 'manual' });
    const request = order({
      orderType: 'limit',
      limitPrice: '149',
      takeProfit: { limitPrice: '170' },
      stopLoss: { stopPrice: '140' },
    });
    const placed = await adapter.submitOrder(request);
    expect(placed.legs?.map((l) => [l.side, l.orderType, l.status, l.limitPrice, l.stopPrice])).toEqual([
      ['sell', 'limit', 'submitted', '170', null],
      ['sell', 'stop', 'submitted', null, '140'],
    ]);
    const [parent, takeProfit, stopLoss] = fake.state.engine.orders;
    expect(parent?.ext).toMatchObject({ cOID: request.clientOrderId, parentCOID: null });
    expect([takeProfit?.ext.cOID, takeProfit?.ext.parentCOID, takeProfit?.ext.tif]).toEqual([
      null,
      request.clientOrderId,
      'GTC',
    ]);
    expect(stopLoss?.ext).toMatchObject({ orderType: 'STP', price: '140', parentCOID: request.clientOrderId });
    const found = await adapter.getOrderByClientId(request.clientOrderId);
    expect(found?.brokerOrderId).toBe(placed.brokerOrderId);
    expect(found?.legs?.map((l) => l.brokerOrderId)).toEqual(placed.legs?.map((l) => l.brokerOrderId));
  });

  it('confirms one or two order-reply questions, then the order is placed', async () => {
    fake.controls.setQuestions([question('o10082'), question('o2137')]);
    const request = order();
    const placed = await adapter.submitOrder(request);
    expect(placed.status).toBe('accepted');
    expect(stored(request.clientOrderId)).toHaveLength(1);
    expect(fake.state.pendingReplies.size).toBe(0);
    fake.controls.setQuestions([question('o10082')]);
    expect((await adapter.submitOrder(order())).status).toBe('accepted');
  });

  it('gives up on a question loop that never ends: BrokerRejected, and the order is discarded', async () => {
    fake.controls.setQuestions(['q1', 'q2', 'q3', 'q4', 'q5', 'q6'].map(question));
    const request = order();
    const error = await adapter.submitOrder(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerRejected);
    expect((error as Error).message).toBe('IBKR kept asking for confirmation: Question q6: are you sure?');
    expect(stored(request.clientOrderId)).toHaveLength(0);
    expect(fake.state.discarded).toHaveLength(1);
    fake.controls.setQuestions(['q1', 'q2', 'q3', 'q4', 'q5'].map(question)); // five rounds are allowed
    expect((await adapter.submitOrder(order())).status).toBe('accepted');
  });

  it('suppresses the known "proceed" questions once per session, so they are never asked', async () => {
    fake.controls.setQuestions([question('o354'), question('o163')]);
    fake.controls.failNext(1, { path: '/iserver/reply/:replyId', status: 500 }); // any reply would fail
    await adapter.submitOrder(order());
    expect([...fake.state.session.suppressed]).toEqual(expect.arrayContaining(['o354', 'o163', 'o10151']));
    fake.controls.clearFaults();
    fake.state.session.suppressed.clear(); // not redone within the session: the loop confirms instead
    expect((await adapter.submitOrder(order())).status).toBe('accepted');
    expect(fake.state.session.suppressed.size).toBe(0);
    fake.controls.login(); // a new session: suppressed again
    await adapter.submitOrder(order());
    expect(fake.state.session.suppressed.has('o354')).toBe(true);
  });
});

describe('IBKR adapter: lookups, cancel, portfolio', () => {
  it('reads live orders twice when the first answer of a session is empty; open orders exclude finished ones', async () => {
    const resting = await adapter.submitOrder(order({ orderType: 'limit', limitPrice: '100' }));
    await adapter.submitOrder(order());
    expect(fake.state.session.liveOrdersCalls).toBe(0);
    const open = await adapter.getOpenOrders();
    expect(fake.state.session.liveOrdersCalls).toBe(2);
    expect(open).toEqual([
      expect.objectContaining({ brokerOrderId: resting.brokerOrderId, status: 'accepted', limitPrice: '100' }),
    ]);
    await adapter.getOpenOrders();
    expect(fake.state.session.liveOrdersCalls).toBe(3); // primed: one call
    expect(await adapter.getOrderByClientId('fp-unknown')).toBeNull();
    expect(await adapter.getOrder('999999')).toBeNull();
  });

  it('derives partially_filled, keeps the filled quantity of a cancelled order, maps Inactive to rejected', async () => {
    fake.controls.configureFills({ mode: 'manual' });
    const placed = await adapter.submitOrder(order({ orderType: 'limit', limitPrice: '140' }));
    fake.controls.fillOrder(placed.brokerOrderId, { qty: '4', price: '139.5' });
    const partial = await adapter.getOrder(placed.brokerOrderId);
    expect(partial).toMatchObject({ status: 'partially_filled', filledQty: '4', avgFillPrice: '139.5' });
    expect(partial?.fills?.map((f) => [f.quantity, f.price])).toEqual([['4', '139.5']]);
    await adapter.cancelOrder(placed.brokerOrderId);
    expect(await adapter.getOrderByClientId(placed.clientOrderId ?? '')).toMatchObject({
      status: 'cancelled',
      brokerStatus: 'Cancelled',
      filledQty: '4',
    });
    const error = await adapter.cancelOrder(placed.brokerOrderId).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerRejected);
    expect((error as Error).message).toMatch(/could not cancel order \d+: OrderID \d+ cannot be cancelled/);
    fake.controls.rejectNextAccepted();
    const rejected = await adapter.submitOrder(order());
    expect(await adapter.getOrder(rejected.brokerOrderId)).toMatchObject({
      status: 'rejected',
      brokerStatus: 'Inactive',
    });
  });

  it('looks conids up once (cached), picks the unexpired future, and rejects an unknown symbol', async () => {
    await adapter.submitOrder(order({ symbol: 'MSFT', quantity: '1' }));
    fake.controls.failNext(3, { path: /^\/(trsrv|iserver\/secdef)\//, status: 500 });
    const again = await adapter.submitOrder(order({ symbol: 'MSFT', quantity: '1' }));
    expect(stored(again.clientOrderId ?? '')[0]?.ext.conid).toBe(272093);
    fake.controls.clearFaults();
    const future = await adapter.submitOrder(order({ symbol: 'ES', quantity: '1' }));
    expect(stored(future.clientOrderId ?? '')[0]?.ext.conid).toBe(600000001);
    const error = await adapter.submitOrder(order({ symbol: 'NOPE' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerRejected);
    expect((error as Error).message).toBe('IBKR does not know the symbol NOPE');
  });

  it('reads positions page by page (105 → 100 + 5), signed, at avgPrice', async () => {
    for (let i = 0; i < 105; i += 1) await adapter.submitOrder(order({ symbol: `S${i}`, quantity: '1' }));
    await adapter.submitOrder(order({ symbol: 'TSLA', side: 'sell', quantity: '5' }));
    await adapter.submitOrder(order({ symbol: 'ES', quantity: '2' }));
    const positions = await adapter.getPositions();
    expect(positions).toHaveLength(107);
    expect(positions.find((p) => p.symbol === 'S104')).toEqual({
      symbol: 'S104',
      quantity: '1',
      avgEntryPrice: '10',
      marketPrice: '10',
      unrealizedPnl: '0',
    });
    expect(positions.find((p) => p.symbol === 'TSLA')).toMatchObject({ quantity: '-5', avgEntryPrice: '250' });
    expect(positions.find((p) => p.symbol === 'ES')).toMatchObject({ quantity: '2', avgEntryPrice: '5000' });
    expect(fake.state.session.portfolioAccountsFetched).toBe(true);
  });

  it('reads the account summary: net liquidation, total cash, buying power', async () => {
    expect(await adapter.getAccount()).toEqual({
      accountId: ACCT,
      currency: 'USD',
      equity: '100000',
      cash: '100000',
      buyingPower: '400000',
      status: 'OPEN',
      tradingBlocked: false,
    });
    await adapter.submitOrder(order({ quantity: '100' }));
    expect(await adapter.getAccount()).toMatchObject({ equity: '100000', cash: '85000' });
  });
});
