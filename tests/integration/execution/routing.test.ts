/**
 * Routing end to end (SPEC §5 "Routing"): one order per active rule, quantity_multiplier, symbol_map, continuous
 * futures without a mapping, live connections without the strategy's live opt-in, and the two switches checked
 * again between acceptance and execution: the trader's kill switch and a paused strategy.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  addRoute,
  type ExecutionHarness,
  logSettles,
  orderFigures,
  ordersOfLog,
  positionOf,
  type RoutedStrategy,
  sendAndSettle,
  setupAlpacaStrategy,
  setupStrategy,
  setupTradovateStrategy,
  signalNotices,
  startExecutionHarness,
  withSignalsHeld,
} from '../../helpers/execution.ts';

let harness: ExecutionHarness;
beforeAll(async () => {
  harness = await startExecutionHarness();
});
afterAll(() => harness.close());
beforeEach(() => {
  harness.alpaca.controls.reset();
  harness.tradovate.controls.reset();
  harness.alpaca.controls.setPrice('AAPL', '100');
});

let sent = 0;
const alert = (fields: Record<string, unknown>) => ({ ticker: 'AAPL', comment: `#${++sent}`, ...fields });

async function rejectedWith(routed: RoutedStrategy, fields: Record<string, unknown>, code: string) {
  const log = await sendAndSettle(harness, routed, alert(fields));
  expect(log).toMatchObject({ status: 'rejected', errorCode: code });
  expect(await ordersOfLog(harness, log.id)).toHaveLength(0);
  expect((await signalNotices(harness, routed.trader.id, log.id)).map((n) => n.type)).toEqual(['signal.rejected']);
  return log;
}

describe('rules and connections', () => {
  it('two rules to two connections place one order each, scaled by each quantity_multiplier', async () => {
    const routed = await setupAlpacaStrategy(harness);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
    const second = await addRoute(routed, 'alpaca', { quantityMultiplier: '2.5' });
    const log = await sendAndSettle(harness, routed, alert({ action: 'buy', quantity: '2' }));
    expect(log.status).toBe('executed');
    const orders = await ordersOfLog(harness, log.id);
    expect(orders.map((o) => [o.brokerConnectionId, orderFigures(o).filledQty])).toEqual([
      [routed.connectionId, '2'],
      [second, '5'],
    ]);
    for (const order of orders) expect(harness.alpaca.controls.ordersByClientId(`fp-${order.id}`)).toHaveLength(1);
    expect(await positionOf(harness, routed.strategyId, 'AAPL', routed.connectionId)).toBe('2');
    expect(await positionOf(harness, routed.strategyId, 'AAPL', second)).toBe('5');

    // An exit closes each connection's own position.
    const exit = await sendAndSettle(harness, routed, alert({ action: 'exit' }));
    expect((await ordersOfLog(harness, exit.id)).map((o) => orderFigures(o).filledQty)).toEqual(['2', '5']);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
  });

  it('a multiplier that leaves part of a share rounds down to whole shares', async () => {
    const routed = await setupAlpacaStrategy(harness, {}, { quantityMultiplier: '0.5' });
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
    const log = await sendAndSettle(harness, routed, alert({ action: 'buy', quantity: '3' }));
    expect((await ordersOfLog(harness, log.id)).map((o) => orderFigures(o).filledQty)).toEqual(['1']);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('1');
  });

  it('symbol_map sends the mapped broker symbol and keeps the position under it', async () => {
    const routed = await setupAlpacaStrategy(harness, {}, { symbolMap: { 'NASDAQ:AAPL': 'AAPL' } });
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
    const log = await sendAndSettle(harness, routed, alert({ ticker: 'NASDAQ:AAPL', action: 'buy', quantity: '4' }));
    const [order] = await ordersOfLog(harness, log.id);
    expect(order).toMatchObject({ symbol: 'NASDAQ:AAPL', brokerSymbol: 'AAPL', status: 'filled' });
    expect(harness.alpaca.controls.ordersByClientId(`fp-${order?.id}`)[0]?.symbol).toBe('AAPL');
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('4');
  });

  it('a continuous future without a mapping is rejected as unmapped-symbol; a mapped route still trades', async () => {
    const unmapped = await setupTradovateStrategy(harness);
    await rejectedWith(unmapped, { ticker: 'MNQ1!', action: 'buy', quantity: '1' }, 'unmapped-symbol');
    expect(await positionOf(harness, unmapped.strategyId, 'MNQZ5')).toBe('0');

    const mixed = await setupTradovateStrategy(harness, {}, { symbolMap: { 'MNQ1!': 'MNQZ5' } });
    const other = await addRoute(mixed, 'tradovate');
    expect(await positionOf(harness, mixed.strategyId, 'MNQZ5')).toBe('0');
    const log = await sendAndSettle(harness, mixed, alert({ ticker: 'MNQ1!', action: 'buy', quantity: '1' }));
    expect(log.status).toBe('executed');
    expect(log.errorMessage).toContain(`map it to a contract (e.g. MNQZ5) in the routing rule for connection ${other}`);
    expect((await ordersOfLog(harness, log.id)).map((o) => [o.brokerConnectionId, o.brokerSymbol])).toEqual([
      [mixed.connectionId, 'MNQZ5'],
    ]);
    expect(await positionOf(harness, mixed.strategyId, 'MNQZ5')).toBe('1');
  });

  it('a live connection needs the strategy’s live opt-in', async () => {
    const routed = await setupStrategy(harness, 'alpaca', {}, {}, 'live');
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
    await rejectedWith(routed, { action: 'buy', quantity: '1' }, 'live-not-enabled');
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');

    await routed.trader.client.strategies.enableLive.mutate({ id: routed.strategyId, confirm: true });
    const log = await sendAndSettle(harness, routed, alert({ action: 'buy', quantity: '1' }));
    expect(log.status).toBe('executed');
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('1');
  });
});

describe('switches flipped between acceptance and execution', () => {
  it('the kill switch: an accepted alert is rejected as trading-disabled and places nothing', async () => {
    const routed = await setupAlpacaStrategy(harness);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
    let id: unknown;
    await withSignalsHeld(harness, async () => {
      const answer = await routed.send(alert({ action: 'buy', quantity: '1' }));
      expect(answer.status).toBe(202);
      id = answer.body.id;
      await routed.trader.client.account.setTradingEnabled.mutate({ enabled: false });
    });
    const log = await logSettles(harness, id, ['rejected', 'executed', 'failed', 'ignored']);
    expect(log).toMatchObject({ status: 'rejected', errorCode: 'trading-disabled' });
    expect(await ordersOfLog(harness, id)).toHaveLength(0);
    expect((await signalNotices(harness, routed.trader.id, log.id)).map((n) => n.type)).toEqual(['signal.rejected']);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
  });

  it('a strategy paused after acceptance: rejected as strategy-paused; resumed, it trades again', async () => {
    const routed = await setupAlpacaStrategy(harness);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
    let id: unknown;
    await withSignalsHeld(harness, async () => {
      const answer = await routed.send(alert({ action: 'buy', quantity: '1' }));
      expect(answer.status).toBe(202);
      id = answer.body.id;
      await routed.trader.client.strategies.pause.mutate({ id: routed.strategyId });
    });
    const log = await logSettles(harness, id, ['rejected', 'executed', 'failed', 'ignored']);
    expect(log).toMatchObject({ status: 'rejected', errorCode: 'strategy-paused' });
    expect(await ordersOfLog(harness, id)).toHaveLength(0);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');

    await routed.trader.client.strategies.resume.mutate({ id: routed.strategyId });
    expect((await sendAndSettle(harness, routed, alert({ action: 'buy', quantity: '1' }))).status).toBe('executed');
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('1');
  });
});
