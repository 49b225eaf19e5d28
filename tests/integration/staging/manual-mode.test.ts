/**
 * Manual mode end to end (api, engine workers and the fake Alpaca in one process): an alert on a manual strategy is
 * staged, not ordered; the trader's approval executes it exactly once, to a fill and a position; a rejection ends
 * it without any order; and an approval whose signal job was never added still executes, through the expire-staged
 * job's re-add (the outbox sweep's `log-<id>` add is ignored while the log's first job is stored).
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { notifications } from '../../../drizzle/schema/notifications.ts';
import { enqueueApprovedSignals, enqueueSignals } from '../../../server/jobs/enqueue.ts';
import { logger } from '../../../server/lib/logger.ts';
import type { ServiceContext } from '../../../server/services/context.ts';
import { requeueApproved } from '../../../server/services/staging/requeue-approved.ts';
import { sweepOutbox } from '../../../server/services/webhooks/outbox-sweep.ts';
import { signalJobId } from '../../../shared/jobs.ts';
import {
  type ExecutionHarness,
  logSettles,
  ordersOfLog,
  positionOf,
  type RoutedStrategy,
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

const db = () => harness.server.deps.database.db;
const FINAL = ['executed', 'failed', 'ignored', 'rejected'];
const systemCtx = (): ServiceContext => ({
  db: db(),
  log: logger,
  requestId: 'manual-mode-test',
  actor: { type: 'system' },
});

/** Sends the alert to a manual strategy and returns its log id and staged signal once the engine staged it. */
async function stage(routed: RoutedStrategy, alert: Record<string, unknown>) {
  const answer = await routed.send(alert);
  expect(answer.status).toBe(202);
  const logId = Number(answer.body.id);
  expect((await logSettles(harness, logId, ['staged', ...FINAL])).status).toBe('staged');
  const page = await routed.trader.client.webhooks.getStaged.query({ strategyId: routed.strategyId });
  const staged = page.items.find((item) => item.webhookLogId === logId);
  if (!staged) throw new Error(`log ${logId} has no staged signal`);
  return { logId, staged };
}

describe('a manual strategy', () => {
  it('stages the alert, and the approval executes it once: one order at the broker, filled, the position', async () => {
    const routed = await setupAlpacaStrategy(harness, { executionMode: 'manual' });
    const { logId, staged } = await stage(routed, { ticker: 'AAPL', action: 'buy', quantity: '3' });
    expect(staged).toMatchObject({ symbol: 'AAPL', action: 'buy', quantity: '3.00000000', status: 'pending' });
    expect(staged.expiresAt.getTime() - staged.createdAt.getTime()).toBeGreaterThan(4.9 * 60_000);
    expect(await ordersOfLog(harness, logId)).toEqual([]);
    const pending = await db()
      .select()
      .from(notifications)
      .where(and(eq(notifications.userId, routed.trader.id), eq(notifications.type, 'staging.pending')));
    expect(pending.map((n) => n.data)).toEqual([
      { stagingId: staged.id, webhookLogId: logId, strategyId: routed.strategyId },
    ]);

    const approved = await routed.trader.client.webhooks.approveStaged.mutate({ id: staged.id });
    expect(approved).toMatchObject({ id: staged.id, status: 'approved', decidedBy: routed.trader.id });

    expect((await logSettles(harness, logId, FINAL)).status).toBe('executed');
    const orders = await ordersOfLog(harness, logId);
    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({ status: 'filled', side: 'buy', clientOrderId: `fp-${orders[0]?.id}` });
    expect(harness.alpaca.controls.ordersByClientId(`fp-${orders[0]?.id}`)).toHaveLength(1);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('3');
    const after = await routed.trader.client.webhooks.getStaged.query({ strategyId: routed.strategyId });
    expect(after.items.map((item) => [item.id, item.status])).toEqual([[staged.id, 'executed']]);
  });

  it('closes an approval the engine could not execute because the strategy was paused meanwhile', async () => {
    const routed = await setupAlpacaStrategy(harness, { executionMode: 'manual' });
    const { logId, staged } = await stage(routed, { ticker: 'AAPL', action: 'buy', quantity: '2' });
    await routed.trader.client.strategies.pause.mutate({ id: routed.strategyId });
    await routed.trader.client.webhooks.approveStaged.mutate({ id: staged.id });
    expect(await logSettles(harness, logId, FINAL)).toMatchObject({ status: 'rejected', errorCode: 'strategy-paused' });
    expect(await ordersOfLog(harness, logId)).toEqual([]);
    const after = await routed.trader.client.webhooks.getStaged.query({ strategyId: routed.strategyId });
    expect(after.items.map((item) => [item.id, item.status])).toEqual([[staged.id, 'rejected']]);
  });

  it('places no order for a rejected signal, and the log ends rejected', async () => {
    const routed = await setupAlpacaStrategy(harness, { executionMode: 'manual' });
    const { logId, staged } = await stage(routed, { ticker: 'AAPL', action: 'buy', quantity: '1' });
    await routed.trader.client.webhooks.rejectStaged.mutate({ id: staged.id, reason: 'Not today' });
    expect(await logSettles(harness, logId, FINAL)).toMatchObject({
      status: 'rejected',
      errorCode: 'staging-rejected',
    });
    expect(await ordersOfLog(harness, logId)).toEqual([]);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
  });

  it('executes an approval whose signal job was lost, once the expire-staged job adds it again', async () => {
    const routed = await setupAlpacaStrategy(harness, { executionMode: 'manual' });
    const { logId, staged } = await stage(routed, { ticker: 'AAPL', action: 'buy', quantity: '2' });
    const signals = harness.server.queues.signals;
    const first = await signals.getJob(signalJobId(logId));
    expect(await first?.getState()).toBe('completed');

    const enqueue = harness.server.deps.enqueueApprovedSignal;
    harness.server.deps.enqueueApprovedSignal = () => Promise.reject(new Error('Connection is closed.'));
    try {
      await routed.trader.client.webhooks.approveStaged.mutate({ id: staged.id });
    } finally {
      harness.server.deps.enqueueApprovedSignal = enqueue;
    }
    expect((await logSettles(harness, logId, ['received'])).status).toBe('received');

    // The outbox sweep (as 30 s later) finds the log `received` and adds `log-<id>`: BullMQ keeps the stored first
    // job instead, which is why approvals have an outbox of their own.
    const future = new Date(Date.now() + 60_000);
    const swept = await sweepOutbox(systemCtx(), (ids) => enqueueSignals(harness.server.queues, ids), { now: future });
    expect(swept.swept).toBeGreaterThanOrEqual(1);
    const kept = await signals.getJob(signalJobId(logId));
    expect([await kept?.getState(), kept?.finishedOn]).toEqual(['completed', first?.finishedOn]);

    const requeued = await requeueApproved(systemCtx(), (ids) => enqueueApprovedSignals(harness.server.queues, ids), {
      now: new Date(Date.now() + 11_000),
    });
    expect(requeued).toEqual({ requeued: 1 });
    expect((await logSettles(harness, logId, FINAL)).status).toBe('executed');
    const orders = await ordersOfLog(harness, logId);
    expect(orders.map((order) => order.status)).toEqual(['filled']);
    expect(harness.alpaca.controls.ordersByClientId(`fp-${orders[0]?.id}`)).toHaveLength(1);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('2');
  });
});
