/**
 * Bracket legs as child orders, on the fake Alpaca: an entry with takeProfit and stopLoss fills, its two exits are
 * recorded as `bracket_exit` orders under it and polled; when the take-profit fills, the position closes with the
 * exact P&L and the stop is cancelled with it. Resting exits never count as position, and an exit signal cancels
 * them instead of stacking a second close on top.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { brokerOrders } from '../../../drizzle/schema/broker_orders.ts';
import {
  type ExecutionHarness,
  orderFigures,
  orderReaches,
  ordersOfLog,
  positionOf,
  sendAndSettle,
  setupAlpacaStrategy,
  startExecutionHarness,
  tradesOf,
} from '../../helpers/execution.ts';

let harness: ExecutionHarness;
beforeAll(async () => {
  harness = await startExecutionHarness();
});
afterAll(() => harness.close());
beforeEach(() => {
  harness.alpaca.controls.reset();
  harness.alpaca.controls.setPrice('AAPL', '100');
});

const db = () => harness.server.deps.database.db;
const legsOf = (entryId: number) =>
  db().select().from(brokerOrders).where(eq(brokerOrders.parentOrderId, entryId)).orderBy(brokerOrders.id);
const BRACKET = { takeProfit: { limitPrice: '110' }, stopLoss: { stopPrice: '95' } };

async function enterWithBracket() {
  const routed = await setupAlpacaStrategy(harness);
  const log = await sendAndSettle(harness, routed, { ticker: 'AAPL', action: 'buy', quantity: '2', ...BRACKET });
  expect(log.status).toBe('executed');
  const [entry] = await ordersOfLog(harness, log.id);
  if (!entry) throw new Error('no entry order');
  expect(entry).toMatchObject({ takeProfitPrice: '110.00000000', stopLossPrice: '95.00000000' });
  let legs: Awaited<ReturnType<typeof legsOf>> = [];
  await orderReaches(harness, entry.id, () => true);
  for (let i = 0; i < 100 && legs.length < 2; i++) {
    legs = await legsOf(entry.id);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { routed, entry, legs };
}

describe('an entry with take-profit and stop-loss', () => {
  it('records both exits as child orders, and the take-profit fill closes the position with its P&L', async () => {
    const { routed, legs } = await enterWithBracket();
    expect(legs.map((leg) => [leg.intent, leg.side, leg.orderType, leg.webhookLogId])).toEqual([
      ['bracket_exit', 'sell', 'limit', null],
      ['bracket_exit', 'sell', 'stop', null],
    ]);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('2');

    harness.alpaca.controls.setPrice('AAPL', '110');
    const [takeProfit, stop] = legs;
    const filled = await orderReaches(harness, takeProfit?.id ?? 0, (order) => order.status === 'filled');
    expect(orderFigures(filled)).toMatchObject({ filledQty: '2', avgFillPrice: '110' });
    expect((await orderReaches(harness, stop?.id ?? 0, (order) => order.status !== 'submitted')).status).toMatch(
      /cancelled|expired/,
    );
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
    const [trade] = await tradesOf(harness, routed.strategyId);
    // (110 − 100) × 2 = 20.
    expect(trade).toMatchObject({ status: 'closed', side: 'long', pnl: '20.00000000' });
  });

  it('keeps the exits working when a repeated entry alert is ignored as already long', async () => {
    const { routed, legs } = await enterWithBracket();
    const again = await sendAndSettle(harness, routed, {
      ticker: 'AAPL',
      action: 'buy',
      quantity: '2',
      comment: 'again',
    });
    expect(again).toMatchObject({ status: 'ignored', errorCode: 'already-long' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const leg of legs) {
      const [row] = await db().select().from(brokerOrders).where(eq(brokerOrders.id, leg.id));
      expect(row?.status).not.toBe('cancelled');
    }
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('2');
  });

  it('does not count resting exits as position: an exit signal cancels them and closes once', async () => {
    const { routed, legs } = await enterWithBracket();
    const exit = await sendAndSettle(harness, routed, { ticker: 'AAPL', action: 'exit' });
    expect(exit.status).toBe('executed');
    const [close] = await ordersOfLog(harness, exit.id);
    expect(orderFigures(close)).toMatchObject({ side: 'sell', intent: 'close', quantity: '2', status: 'filled' });
    for (const leg of legs) {
      const ended = await orderReaches(harness, leg.id, (order) => !['submitted', 'accepted'].includes(order.status));
      expect(ended.status).toBe('cancelled');
    }
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
  });
});
