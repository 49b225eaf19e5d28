/**
 * Broker failures end to end against the fake Alpaca (SPEC §5 "Errors", §13): 5xx and 429 are retried and never
 * double an order (the fake holds one order per client id); an answer lost after the broker stored the order is
 * found again by its client id; an outage that outlasts the orders queue's attempts ends the order `failed` with a
 * dead letter and notifications; rejections are final, and a reversal whose closing leg is rejected never sends its
 * opening leg. The harness backs the orders queue off in milliseconds (same attempts as production).
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditLogs } from '../../../drizzle/schema/audit_logs.ts';
import { brokerOrders } from '../../../drizzle/schema/broker_orders.ts';
import { deadLetters } from '../../../drizzle/schema/dead_letters.ts';
import { webhookLogs } from '../../../drizzle/schema/webhook_logs.ts';
import { ordersQueue } from '../../../server/jobs/queues/orders.ts';
import { waitFor } from '../../helpers/app.ts';
import {
  type ExecutionHarness,
  logSettles,
  notificationsOf,
  orderFigures,
  ordersOfLog,
  positionOf,
  type RoutedStrategy,
  seedPosition,
  sendAndSettle,
  setupAlpacaStrategy,
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
  harness.alpaca.controls.setPrice('AAPL', '100');
});

let sent = 0;
const alert = (fields: Record<string, unknown>) => ({ ticker: 'AAPL', comment: `#${++sent}`, ...fields });
const placing = { method: 'POST', path: '/v2/orders' };
const position = (routed: RoutedStrategy) => positionOf(harness, routed.strategyId, 'AAPL');

/** Sends a buy of `quantity` and returns its log and its one order. */
async function buy(routed: RoutedStrategy, quantity: string) {
  const log = await sendAndSettle(harness, routed, alert({ action: 'buy', quantity }));
  const [order, ...more] = await ordersOfLog(harness, log.id);
  expect(more).toEqual([]);
  if (!order) throw new Error('no order');
  return { log, order, atFake: harness.alpaca.controls.ordersByClientId(`fp-${order.id}`) };
}

describe('retried submissions', () => {
  it('a 503, another 503, then accepted: one order at the broker, filled on the third attempt', async () => {
    const routed = await setupAlpacaStrategy(harness);
    expect(await position(routed)).toBe('0');
    harness.alpaca.controls.failNext(2, { ...placing, status: 503 });
    const { log, order, atFake } = await buy(routed, '2');
    expect(log.status).toBe('executed');
    expect(atFake).toHaveLength(1);
    expect(orderFigures(order)).toMatchObject({ status: 'filled', filledQty: '2' });
    expect(order.attempts).toBe(3);
    expect(await position(routed)).toBe('2');
  });

  it('a 429 rate limit is retried like an outage', async () => {
    const routed = await setupAlpacaStrategy(harness);
    expect(await position(routed)).toBe('0');
    harness.alpaca.controls.rateLimitNext(1, placing);
    const { log, order, atFake } = await buy(routed, '1');
    expect(log.status).toBe('executed');
    expect(atFake).toHaveLength(1);
    expect(order.attempts).toBe(2);
    expect(await position(routed)).toBe('1');
  });

  it('an answer lost after the broker stored (and filled) the order: found by client id, not placed again', async () => {
    const routed = await setupAlpacaStrategy(harness);
    expect(await position(routed)).toBe('0');
    harness.alpaca.controls.dropNextResponse(placing);
    const { log, order, atFake } = await buy(routed, '3');
    expect(log.status).toBe('executed');
    expect(atFake).toHaveLength(1);
    expect(orderFigures(order)).toMatchObject({ status: 'filled', filledQty: '3', avgFillPrice: '100' });
    expect(await position(routed)).toBe('3');
  });
});

describe('a signal job run again after the worker died while it was sending', () => {
  it('hands the order it had claimed to its submit job, which sends it exactly once', async () => {
    const db = harness.server.deps.database.db;
    const routed = await setupAlpacaStrategy(harness);
    let logId = 0;
    let orderId = 0;
    await withSignalsHeld(harness, async () => {
      const answer = await routed.send(alert({ action: 'buy', quantity: '4' }));
      logId = Number(answer.body.id);
      // What the first run left behind: its transaction committed (log executing, order written) and the order
      // claimed for sending; then the worker died before the broker heard of it. The job runs again on release.
      await db.update(webhookLogs).set({ status: 'executing' }).where(eq(webhookLogs.id, logId));
      const [order] = await db
        .insert(brokerOrders)
        .values({
          userId: routed.trader.id,
          strategyId: routed.strategyId,
          brokerConnectionId: routed.connectionId,
          webhookLogId: logId,
          symbol: 'AAPL',
          brokerSymbol: 'AAPL',
          side: 'buy',
          intent: 'open',
          orderType: 'market',
          tif: 'day',
          quantity: '4',
          status: 'submitting',
          attempts: 1,
        })
        .$returningId();
      orderId = order?.id ?? 0;
      await db
        .update(brokerOrders)
        .set({ clientOrderId: `fp-${orderId}` })
        .where(eq(brokerOrders.id, orderId));
    });
    expect((await logSettles(harness, logId, ['executed', 'failed'])).status).toBe('executed');
    const [order] = await ordersOfLog(harness, logId);
    expect(orderFigures(order)).toMatchObject({ status: 'filled', filledQty: '4' });
    expect(harness.alpaca.controls.ordersByClientId(`fp-${orderId}`)).toHaveLength(1);
    expect(await position(routed)).toBe('4');
  });
});

describe('an outage that outlasts every attempt', () => {
  it('ends the order failed and the log failed, with a dead letter, its audit row and the trader told', async () => {
    const routed = await setupAlpacaStrategy(harness);
    expect(await position(routed)).toBe('0');
    const attempts = ordersQueue.defaultJobOptions.attempts;
    harness.alpaca.controls.failNext(attempts + 10, { ...placing, status: 503 });
    const { log, order, atFake } = await buy(routed, '1');
    harness.alpaca.controls.clearFaults();

    expect(log).toMatchObject({ status: 'failed', errorCode: 'order-failed' });
    expect(atFake).toHaveLength(0);
    expect(order).toMatchObject({ status: 'failed', attempts });
    expect(order.lastError).toContain('HTTP 503');
    expect(await position(routed)).toBe('0');

    const db = harness.server.deps.database.db;
    const byJob = and(eq(deadLetters.queue, 'orders'), eq(deadLetters.jobId, `order-${order.id}`));
    await waitFor(async () => (await db.select().from(deadLetters).where(byJob)).length > 0, 10_000, 25);
    const [dead] = await db.select().from(deadLetters).where(byJob);
    expect(dead).toMatchObject({
      jobName: 'submit-order',
      userId: routed.trader.id,
      payload: { orderId: order.id },
      // The submit job's own attempts: the signal job made the order's first one itself.
      attempts: attempts - 1,
      status: 'open',
    });
    const audit = await db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, 'dead_letter.create'), eq(auditLogs.resourceId, String(dead?.id))));
    expect(audit).toHaveLength(1);
    const failed = await notificationsOf(harness, routed.trader.id, 'order.failed');
    expect(failed.map((n) => (n.data as { orderId?: number }).orderId)).toEqual([order.id]);
    expect(await notificationsOf(harness, routed.trader.id, 'dead_letter.created')).toHaveLength(1);
  });
});

describe('rejections', () => {
  it('a rejection after acceptance ends the order rejected and tells the trader once', async () => {
    const routed = await setupAlpacaStrategy(harness);
    expect(await position(routed)).toBe('0');
    harness.alpaca.controls.rejectNextAccepted(1);
    const { log, order, atFake } = await buy(routed, '1');
    expect(log).toMatchObject({ status: 'failed', errorCode: 'order-failed' });
    expect(atFake).toHaveLength(1);
    expect(orderFigures(order)).toMatchObject({ status: 'rejected', filledQty: '0' });
    const rejected = await notificationsOf(harness, routed.trader.id, 'order.rejected');
    expect(rejected.map((n) => (n.data as { orderId?: number }).orderId)).toEqual([order.id]);
    expect(await position(routed)).toBe('0');
  });

  it('a reversal whose closing leg is rejected never sends its opening leg: the long stays', async () => {
    const routed = await setupAlpacaStrategy(harness, { allowShort: true, allowReverse: true });
    expect(await position(routed)).toBe('0');
    await seedPosition(harness, routed, alert({ action: 'buy', quantity: '2' }));
    expect(await position(routed)).toBe('2');
    harness.alpaca.controls.rejectNextOrder({ count: 1 });
    const log = await sendAndSettle(harness, routed, alert({ action: 'sell', quantity: '3' }));
    expect(log.status).toBe('failed');
    const [close, open] = await ordersOfLog(harness, log.id);
    expect(orderFigures(close)).toMatchObject({ intent: 'reverse_close', status: 'rejected' });
    expect(orderFigures(open)).toMatchObject({ intent: 'reverse_open', status: 'cancelled', filledQty: '0' });
    expect(harness.alpaca.controls.ordersByClientId(`fp-${open?.id}`)).toHaveLength(0);
    expect(await position(routed)).toBe('2');
  });
});
