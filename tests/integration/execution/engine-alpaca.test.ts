/**
 * The signal engine end to end against the fake Alpaca: an alert becomes exactly one order at the broker, its fill
 * becomes the position and a trade, and the log ends `executed`; a repeated entry is ignored while the first order
 * is still working; a reversal sends its opening leg only after the closing leg filled; a broker rejection ends the
 * order `rejected`, the log `failed`, and tells the trader.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { notifications } from '../../../drizzle/schema/notifications.ts';
import {
  type ExecutionHarness,
  logSettles,
  ordersOfLog,
  positionOf,
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

describe('an alert on an auto strategy routed to Alpaca', () => {
  it('places one order, records its fill as the position and an open trade, and ends executed', async () => {
    const routed = await setupAlpacaStrategy(harness);
    const answer = await routed.send({ ticker: 'AAPL', action: 'buy', quantity: '3' });
    expect(answer.status).toBe(202);

    const log = await logSettles(harness, answer.body.id, ['executed', 'failed', 'ignored', 'rejected']);
    expect(log.status).toBe('executed');
    const [order] = await ordersOfLog(harness, answer.body.id);
    expect(order).toMatchObject({ status: 'filled', side: 'buy', intent: 'open', clientOrderId: `fp-${order?.id}` });
    expect(Number(order?.filledQty)).toBe(3);
    expect(harness.alpaca.controls.ordersByClientId(`fp-${order?.id}`)).toHaveLength(1);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('3');
    const [trade] = await tradesOf(harness, routed.strategyId);
    expect(trade).toMatchObject({ status: 'open', side: 'long' });
    expect(Number(trade?.entryPrice)).toBe(100);

    const filled = await db().select().from(notifications).where(eq(notifications.type, 'order.filled'));
    expect(filled.filter((n) => (n.data as { orderId?: number }).orderId === order?.id)).toHaveLength(1);
  });

  it('closes the position on exit and books the realized P&L', async () => {
    const routed = await setupAlpacaStrategy(harness);
    const entry = await routed.send({ ticker: 'AAPL', action: 'buy', quantity: '2' });
    await logSettles(harness, entry.body.id, ['executed']);
    harness.alpaca.controls.setPrice('AAPL', '112.5');
    const exit = await routed.send({ ticker: 'AAPL', action: 'exit' });
    expect((await logSettles(harness, exit.body.id, ['executed', 'failed'])).status).toBe('executed');
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
    const [trade] = await tradesOf(harness, routed.strategyId);
    // (112.5 − 100) × 2 = 25, no fees on the fake's paper account.
    expect(trade).toMatchObject({ status: 'closed', side: 'long' });
    expect(Number(trade?.pnl)).toBe(25);
  });

  it('reverses a short in two legs, the opening leg sent only after the closing leg filled', async () => {
    const routed = await setupAlpacaStrategy(harness, { allowShort: true, allowReverse: true });
    const short = await routed.send({ ticker: 'AAPL', action: 'sell', quantity: '2' });
    await logSettles(harness, short.body.id, ['executed']);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('-2');

    const reverse = await routed.send({ ticker: 'AAPL', action: 'buy', quantity: '5' });
    expect((await logSettles(harness, reverse.body.id, ['executed', 'failed'])).status).toBe('executed');
    const [close, open] = await ordersOfLog(harness, reverse.body.id);
    expect(close).toMatchObject({ intent: 'reverse_close', side: 'buy', status: 'filled' });
    expect(open).toMatchObject({ intent: 'reverse_open', side: 'buy', status: 'filled', parentOrderId: close?.id });
    expect(Number(close?.quantity)).toBe(2);
    expect(Number(open?.quantity)).toBe(5);
    expect((open?.submittedAt?.getTime() ?? 0) >= (close?.filledAt?.getTime() ?? Infinity)).toBe(true);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('5');
    const trades = await tradesOf(harness, routed.strategyId);
    expect(trades.map((t) => [t.side, t.status])).toEqual([
      ['short', 'closed'],
      ['long', 'open'],
    ]);
  });

  it('ignores a second buy while the first order is still working, so the position is not doubled', async () => {
    harness.alpaca.controls.configureFills({ mode: 'manual' });
    const routed = await setupAlpacaStrategy(harness);
    const first = await routed.send({ ticker: 'AAPL', action: 'buy', quantity: '1' });
    await logSettles(harness, first.body.id, ['executing']);
    // A different body: an identical one would be a duplicate delivery, refused before the engine.
    const second = await routed.send({ ticker: 'AAPL', action: 'buy', quantity: '1', comment: 'again' });
    const log = await logSettles(harness, second.body.id, ['ignored', 'executing', 'executed']);
    expect(log).toMatchObject({ status: 'ignored', errorCode: 'already-long' });
    expect(await ordersOfLog(harness, second.body.id)).toHaveLength(0);
  });

  it('ends a rejected order rejected, the log failed, and notifies the trader once', async () => {
    const routed = await setupAlpacaStrategy(harness);
    harness.alpaca.controls.rejectNextOrder({ count: 1 });
    const answer = await routed.send({ ticker: 'AAPL', action: 'buy', quantity: '1' });
    const log = await logSettles(harness, answer.body.id, ['failed', 'executed']);
    expect(log.status).toBe('failed');
    const [order] = await ordersOfLog(harness, answer.body.id);
    expect(order?.status).toBe('rejected');
    expect(order?.lastError).toBeTruthy();
    const rejected = await db().select().from(notifications).where(eq(notifications.type, 'order.rejected'));
    expect(rejected.filter((n) => (n.data as { orderId?: number }).orderId === order?.id)).toHaveLength(1);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
  });
});
