/**
 * Futures end to end on the fake Tradovate: MNQ1! mapped to MNQZ5 (instruments: multiplier 2, tick 0.25), round
 * trips whose P&L is exact (the fake charges no commission, so fees are 0), partial fills recorded one by one into
 * the position, and a partially filled order cancelled by a cancel signal keeping what it filled.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type ExecutionHarness,
  fillsOf,
  logSettles,
  orderFigures,
  orderReaches,
  ordersOfLog,
  positionOf,
  type RoutedStrategy,
  sendAndSettle,
  setupTradovateStrategy,
  startExecutionHarness,
  tradesOf,
} from '../../helpers/execution.ts';

let harness: ExecutionHarness;
beforeAll(async () => {
  harness = await startExecutionHarness();
});
afterAll(() => harness.close());
beforeEach(() => {
  harness.tradovate.controls.reset();
  harness.tradovate.controls.setPrice('MNQZ5', '20000');
});

let sent = 0;
const alert = (fields: Record<string, unknown>) => ({ ticker: 'MNQ1!', comment: `#${++sent}`, ...fields });
const mnq = (settings: Parameters<typeof setupTradovateStrategy>[1] = {}) =>
  setupTradovateStrategy(harness, settings, { symbolMap: { 'MNQ1!': 'MNQZ5' } });
const position = (routed: RoutedStrategy) => positionOf(harness, routed.strategyId, 'MNQZ5');

async function executed(routed: RoutedStrategy, fields: Record<string, unknown>) {
  const log = await sendAndSettle(harness, routed, alert(fields));
  expect(log.status, log.errorMessage ?? '').toBe('executed');
  return (await ordersOfLog(harness, log.id)).map(orderFigures);
}

/** The fake's order for one of ours (its client order id is fp-<id>). */
function fakeOrder(orderId: number) {
  const [order] = harness.tradovate.controls.ordersByClientId(`fp-${orderId}`);
  if (!order) throw new Error(`the fake has no order fp-${orderId}`);
  return order;
}

describe('MNQ round trips', () => {
  it('long 2 MNQ from 20000 to 20010.5: P&L 10.5 × 2 contracts × 2 = 42', async () => {
    const routed = await mnq();
    expect(await position(routed)).toBe('0');
    const [entry] = await executed(routed, { action: 'buy', quantity: '2' });
    expect(entry).toMatchObject({ side: 'buy', intent: 'open', filledQty: '2', avgFillPrice: '20000' });
    expect(await position(routed)).toBe('2');

    harness.tradovate.controls.setPrice('MNQZ5', '20010.5');
    const [exit] = await executed(routed, { action: 'exit' });
    expect(exit).toMatchObject({ side: 'sell', intent: 'close', filledQty: '2', avgFillPrice: '20010.5' });
    expect(await position(routed)).toBe('0');
    const [trade] = await tradesOf(harness, routed.strategyId);
    expect(trade).toMatchObject({
      symbol: 'MNQZ5',
      side: 'long',
      status: 'closed',
      quantity: '2.00000000',
      entryPrice: '20000.00000000',
      exitPrice: '20010.50000000',
      fees: '0.00000000',
      pnl: '42.00000000',
    });
  });

  it('short 3 MNQ from 20000 covered at 19990.25: P&L 9.75 × 3 × 2 = 58.5', async () => {
    const routed = await mnq({ allowShort: true });
    expect(await position(routed)).toBe('0');
    await executed(routed, { action: 'sell', quantity: '3' });
    expect(await position(routed)).toBe('-3');
    harness.tradovate.controls.setPrice('MNQZ5', '19990.25');
    await executed(routed, { action: 'buy', sentiment: 'flat' });
    expect(await position(routed)).toBe('0');
    const [trade] = await tradesOf(harness, routed.strategyId);
    expect(trade).toMatchObject({ side: 'short', status: 'closed', pnl: '58.50000000', fees: '0.00000000' });
  });
});

describe('partial fills', () => {
  it('records each partial fill into the position, then the rest at another price, averaging exactly', async () => {
    harness.tradovate.controls.configureFills({ mode: 'manual' });
    const routed = await mnq();
    expect(await position(routed)).toBe('0');
    const answer = await routed.send(alert({ action: 'buy', quantity: '4' }));
    await logSettles(harness, answer.body.id, ['executing']);
    const [order] = await ordersOfLog(harness, answer.body.id);
    if (!order) throw new Error('no order');
    await orderReaches(harness, order.id, (o) => o.status === 'accepted');
    expect(await position(routed)).toBe('0');

    harness.tradovate.controls.fillOrder(fakeOrder(order.id).id, { qty: '1', price: '20000' });
    const partial = await orderReaches(harness, order.id, (o) => o.status === 'partially_filled');
    expect(orderFigures(partial)).toMatchObject({ filledQty: '1', avgFillPrice: '20000' });
    expect(await position(routed)).toBe('1');
    expect((await logSettles(harness, answer.body.id, ['executing'])).status).toBe('executing');

    harness.tradovate.controls.fillOrder(fakeOrder(order.id).id, { qty: '3', price: '20004' });
    expect((await logSettles(harness, answer.body.id, ['executed', 'failed'])).status).toBe('executed');
    const [filled] = await ordersOfLog(harness, answer.body.id);
    // (1 × 20000 + 3 × 20004) / 4 = 20003.
    expect(orderFigures(filled)).toMatchObject({ status: 'filled', filledQty: '4', avgFillPrice: '20003' });
    expect(await fillsOf(harness, order.id)).toEqual([
      ['1', '20000', '0'],
      ['3', '20004', '0'],
    ]);
    expect(await position(routed)).toBe('4');

    harness.tradovate.controls.configureFills({ mode: 'immediate' });
    harness.tradovate.controls.setPrice('MNQZ5', '20010.5');
    await executed(routed, { action: 'exit' });
    expect(await position(routed)).toBe('0');
    const [trade] = await tradesOf(harness, routed.strategyId);
    // (20010.5 − 20003) × 4 × 2 = 60.
    expect(trade).toMatchObject({ status: 'closed', entryPrice: '20003.00000000', pnl: '60.00000000' });
  });

  it("the fake's stepped fills (one step per poll) arrive as separate fills", async () => {
    harness.tradovate.controls.configureFills({ mode: 'polls', polls: 1, steps: 3 });
    const routed = await mnq();
    expect(await position(routed)).toBe('0');
    const log = await sendAndSettle(harness, routed, alert({ action: 'buy', quantity: '3' }));
    expect(log.status).toBe('executed');
    const [order] = await ordersOfLog(harness, log.id);
    expect(orderFigures(order)).toMatchObject({ status: 'filled', filledQty: '3', avgFillPrice: '20000' });
    expect(await fillsOf(harness, order?.id ?? 0)).toEqual([
      ['1', '20000', '0'],
      ['1', '20000', '0'],
      ['1', '20000', '0'],
    ]);
    expect(await position(routed)).toBe('3');
  });

  it('a cancel after a partial fill keeps what filled: order cancelled with 1 of 3, position 1', async () => {
    harness.tradovate.controls.configureFills({ mode: 'manual' });
    const routed = await mnq();
    expect(await position(routed)).toBe('0');
    const answer = await routed.send(alert({ action: 'buy', quantity: '3' }));
    await logSettles(harness, answer.body.id, ['executing']);
    const [order] = await ordersOfLog(harness, answer.body.id);
    if (!order) throw new Error('no order');
    await orderReaches(harness, order.id, (o) => o.status === 'accepted');
    harness.tradovate.controls.fillOrder(fakeOrder(order.id).id, { qty: '1', price: '20000' });
    await orderReaches(harness, order.id, (o) => o.status === 'partially_filled');
    expect(await position(routed)).toBe('1');

    const cancel = await sendAndSettle(harness, routed, alert({ action: 'cancel' }));
    expect(cancel.status).toBe('executed');
    const ended = await orderReaches(harness, order.id, (o) => o.status === 'cancelled');
    expect(orderFigures(ended)).toMatchObject({ filledQty: '1', quantity: '3' });
    expect(fakeOrder(order.id).status).toBe('cancelled');
    expect((await logSettles(harness, answer.body.id, ['executed', 'failed'])).status).toBe('executed');
    expect(await position(routed)).toBe('1');
  });
});
