/**
 * Signals that arrive while an entry is still working at the broker (the fake Alpaca, AAPL at 100, entries resting
 * as buy limits at 90): a repeated entry counts the working one (no doubling); an exit or an opposite entry cancels
 * it and closes only what filled, so a strategy that never shorts is never left short while its entry rests.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type ExecutionHarness,
  logSettles,
  orderFigures,
  orderReaches,
  ordersOfLog,
  positionOf,
  type RoutedStrategy,
  seedPosition,
  sendAndSettle,
  setupAlpacaStrategy,
  startExecutionHarness,
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

let sent = 0;
const alert = (fields: Record<string, unknown>) => ({ ticker: 'AAPL', comment: `#${++sent}`, ...fields });
const position = (routed: RoutedStrategy) => positionOf(harness, routed.strategyId, 'AAPL');
const atFake = (orderId: number | undefined) => harness.alpaca.controls.ordersByClientId(`fp-${orderId}`)[0];

/** A buy limit below the market, resting at the fake; returns its log id and order id. */
async function restingEntry(routed: RoutedStrategy, quantity: string) {
  const answer = await routed.send(alert({ action: 'buy', quantity, limitPrice: '90' }));
  await logSettles(harness, answer.body.id, ['executing']);
  const [order] = await ordersOfLog(harness, answer.body.id);
  if (!order) throw new Error('no entry order');
  await orderReaches(harness, order.id, (o) => o.status === 'accepted');
  expect(atFake(order.id)?.status).toBe('working');
  return { logId: Number(answer.body.id), orderId: order.id };
}

describe('an exit while the entry is still working', () => {
  it('cancels the resting entry and sells nothing: the strategy stays flat, never short', async () => {
    const routed = await setupAlpacaStrategy(harness);
    const entry = await restingEntry(routed, '2');
    expect(await position(routed)).toBe('0');

    const exit = await sendAndSettle(harness, routed, alert({ action: 'exit' }));
    expect(exit.status).toBe('executed');
    expect(await ordersOfLog(harness, exit.id)).toHaveLength(0);
    await harness.alpaca.controls.waitFor(() => atFake(entry.orderId)?.status === 'cancelled');
    const ended = await orderReaches(harness, entry.orderId, (o) => o.status === 'cancelled');
    expect(orderFigures(ended)).toMatchObject({ filledQty: '0' });
    expect(await position(routed)).toBe('0');
  });

  it('closes what a partial fill bought and cancels the rest', async () => {
    const routed = await setupAlpacaStrategy(harness);
    const entry = await restingEntry(routed, '3');
    harness.alpaca.controls.fillOrder(atFake(entry.orderId)?.id ?? '', { qty: '1', price: '90' });
    await orderReaches(harness, entry.orderId, (o) => o.status === 'partially_filled');
    expect(await position(routed)).toBe('1');

    const exit = await sendAndSettle(harness, routed, alert({ action: 'exit' }));
    expect(exit.status).toBe('executed');
    expect((await ordersOfLog(harness, exit.id)).map(orderFigures)).toEqual([
      expect.objectContaining({ side: 'sell', intent: 'close', quantity: '1', filledQty: '1' }),
    ]);
    const ended = await orderReaches(harness, entry.orderId, (o) => o.status === 'cancelled');
    expect(orderFigures(ended)).toMatchObject({ quantity: '3', filledQty: '1' });
    expect(await position(routed)).toBe('0');
  });
});

describe('an opposite entry while the entry is still working', () => {
  it('a sell on a strategy that never shorts cancels the resting buy and opens nothing', async () => {
    const routed = await setupAlpacaStrategy(harness);
    const entry = await restingEntry(routed, '2');
    const sell = await sendAndSettle(harness, routed, alert({ action: 'sell', quantity: '2' }));
    expect(sell.status).toBe('executed');
    expect(await ordersOfLog(harness, sell.id)).toHaveLength(0);
    await orderReaches(harness, entry.orderId, (o) => o.status === 'cancelled');
    expect(await position(routed)).toBe('0');
  });

  it('a sell on a strategy that shorts cancels the resting buy and opens the short from flat', async () => {
    const routed = await setupAlpacaStrategy(harness, { allowShort: true, allowReverse: true });
    const entry = await restingEntry(routed, '2');
    const sell = await sendAndSettle(harness, routed, alert({ action: 'sell', quantity: '3' }));
    expect((await ordersOfLog(harness, sell.id)).map(orderFigures)).toEqual([
      expect.objectContaining({ side: 'sell', intent: 'open', quantity: '3', filledQty: '3' }),
    ]);
    await orderReaches(harness, entry.orderId, (o) => o.status === 'cancelled');
    expect(await position(routed)).toBe('-3');
  });

  it('a repeated buy counts the working one instead and is ignored as already-long', async () => {
    const routed = await setupAlpacaStrategy(harness);
    const entry = await restingEntry(routed, '2');
    const again = await sendAndSettle(harness, routed, alert({ action: 'buy', quantity: '2', limitPrice: '90' }));
    expect(again).toMatchObject({ status: 'ignored', errorCode: 'already-long' });
    expect(atFake(entry.orderId)?.status).toBe('working');
    expect(await position(routed)).toBe('0');
  });
});

describe('an exit while a reversal is under way', () => {
  it('lets the closing leg finish and cancels the opening leg before it is ever sent', async () => {
    const routed = await setupAlpacaStrategy(harness, { allowShort: true, allowReverse: true });
    await seedPosition(harness, routed, alert({ action: 'buy', quantity: '2' }));
    expect(await position(routed)).toBe('2');
    harness.alpaca.controls.configureFills({ mode: 'manual' });
    const reverse = await routed.send(alert({ action: 'sell', quantity: '3' }));
    await logSettles(harness, reverse.body.id, ['executing']);
    const [close, open] = await ordersOfLog(harness, reverse.body.id);
    await orderReaches(harness, close?.id ?? 0, (o) => o.status === 'accepted');

    const exit = await sendAndSettle(harness, routed, alert({ action: 'exit' }));
    expect(exit.status).toBe('executed');
    expect(await ordersOfLog(harness, exit.id)).toHaveLength(0);
    expect(orderFigures(await orderReaches(harness, open?.id ?? 0, (o) => o.status === 'cancelled'))).toMatchObject({
      intent: 'reverse_open',
      filledQty: '0',
    });

    harness.alpaca.controls.fillOrder(atFake(close?.id)?.id ?? '', { price: '101' });
    expect((await logSettles(harness, reverse.body.id, ['executed', 'failed'])).status).toBe('executed');
    expect(atFake(open?.id)).toBeUndefined();
    expect(await position(routed)).toBe('0');
  });
});
