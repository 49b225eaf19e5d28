/**
 * IBKR end to end on the fake Client Portal gateway: a buy → exit round trip whose fills come from the gateway's
 * executions with their commission (the fake charges 1.0 per execution), so the trade's P&L is net of fees; an
 * order-reply question is confirmed on the way. Pacing is sped up for the test: the gateway's 1-per-5-s buckets
 * would only make it slower.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SAMPLE_QUESTIONS } from '../../fakes/ibkr.ts';
import {
  type ExecutionHarness,
  fillsOf,
  orderFigures,
  ordersOfLog,
  positionOf,
  type RoutedStrategy,
  sendAndSettle,
  setupIbkrStrategy,
  startExecutionHarness,
  tradesOf,
} from '../../helpers/execution.ts';

let harness: ExecutionHarness;
beforeAll(async () => {
  const fast = { default: { points: 1000, windowSeconds: 1 } };
  harness = await startExecutionHarness({ pacing: { ibkr: fast } });
});
afterAll(() => harness.close());
beforeEach(() => {
  harness.ibkr.controls.reset();
  harness.ibkr.controls.login();
  harness.ibkr.controls.setPrice('AAPL', '150');
});

let sent = 0;
const alert = (fields: Record<string, unknown>) => ({ ticker: 'AAPL', comment: `#${++sent}`, ...fields });

async function executed(routed: RoutedStrategy, fields: Record<string, unknown>) {
  const log = await sendAndSettle(harness, routed, alert(fields));
  expect(log.status, log.errorMessage ?? '').toBe('executed');
  const orders = await ordersOfLog(harness, log.id);
  expect(orders).toHaveLength(1);
  const [order] = orders;
  if (!order) throw new Error('no order');
  expect(harness.ibkr.controls.ordersByClientId(`fp-${order.id}`)).toHaveLength(1);
  return { ...orderFigures(order), fills: await fillsOf(harness, order.id) };
}

describe('an IBKR round trip', () => {
  it('buy 10 AAPL at 150, exit at 153.25: gross 32.5, two commissions of 1, P&L 30.5', async () => {
    const routed = await setupIbkrStrategy(harness);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');

    const entry = await executed(routed, { action: 'buy', quantity: '10' });
    expect(entry).toMatchObject({ side: 'buy', intent: 'open', status: 'filled', filledQty: '10' });
    expect(entry.fills).toEqual([['10', '150', '1']]);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('10');

    harness.ibkr.controls.setPrice('AAPL', '153.25');
    const exit = await executed(routed, { action: 'exit' });
    expect(exit).toMatchObject({ side: 'sell', intent: 'close', status: 'filled', filledQty: '10' });
    expect(exit.fills).toEqual([['10', '153.25', '1']]);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');

    const [trade] = await tradesOf(harness, routed.strategyId);
    expect(trade).toMatchObject({
      side: 'long',
      status: 'closed',
      quantity: '10.00000000',
      entryPrice: '150.00000000',
      exitPrice: '153.25000000',
      fees: '2.00000000',
      pnl: '30.50000000',
    });
  });

  it('confirms an order-reply question and still places exactly one order', async () => {
    harness.ibkr.controls.setQuestions([SAMPLE_QUESTIONS[0] as (typeof SAMPLE_QUESTIONS)[number]]);
    const routed = await setupIbkrStrategy(harness);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
    const entry = await executed(routed, { action: 'buy', quantity: '3' });
    expect(entry).toMatchObject({ status: 'filled', filledQty: '3' });
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('3');
  });
});
