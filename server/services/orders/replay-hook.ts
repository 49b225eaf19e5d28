/**
 * The dead-letter replay hook of the `orders` queue (dead-letters/replay-hooks.ts). A submit job that exhausted its
 * attempts left its order `failed` (and, once nothing else of the log could change, the log `failed`); the replayed
 * job only submits an order that is `pending` or `submitting`, so the hook puts the order back to `pending` and its
 * log back to `executing`, in the replay's transaction.
 *
 * The order keeps its attempt counter (and last error): with attempts > 0 the replayed submit first asks the broker
 * for the client id `fp-<id>` and sends only if the broker does not know it, so an order whose last attempt did reach
 * the broker (a lost response) is picked up, not sent twice. The replayed job runs under its own id `dl-<id>`, and
 * the order row's claim (`pending` → `submitting`) lets one job submit it.
 *
 * Not restored: a reversal's opening leg, which was cancelled when this closing leg failed. Replaying the closing
 * leg closes the position as planned; opening the other side again is a new decision for the trader.
 */
import { and, eq } from 'drizzle-orm';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import { webhookLogs } from '#drizzle/schema/webhook_logs.ts';
import { JOB_PAYLOADS } from '#shared/jobs.ts';
import type { Transaction } from '../../db/transaction.ts';
import { registerReplayHook } from '../dead-letters/replay-hooks.ts';
import { Precondition } from '../errors.ts';

export async function resetFailedSubmit(tx: Transaction, payload: Record<string, unknown>): Promise<void> {
  const { orderId } = JOB_PAYLOADS.orders['submit-order'].parse(payload);
  const [order] = await tx
    .select({ id: brokerOrders.id, status: brokerOrders.status, webhookLogId: brokerOrders.webhookLogId })
    .from(brokerOrders)
    .where(eq(brokerOrders.id, orderId))
    .for('update');
  if (!order) throw new Precondition('The order of this failed job no longer exists');
  // Already waiting for a submit: an earlier replay's reset whose job was not added, or a job that died mid-submit.
  if (order.status === 'pending' || order.status === 'submitting') return;
  if (order.status !== 'failed') {
    throw new Precondition(`This order is ${order.status} now; submitting it again would change nothing`);
  }
  await tx.update(brokerOrders).set({ status: 'pending' }).where(eq(brokerOrders.id, order.id));
  if (order.webhookLogId === null) return;
  // Only a log the failure settled: one still `executing` (another order working) or `executed` stays as it is,
  // and the order's end settles it again (execution/finish-order.ts settleLog).
  await tx
    .update(webhookLogs)
    .set({ status: 'executing', errorCode: null, errorMessage: null })
    .where(and(eq(webhookLogs.id, order.webhookLogId), eq(webhookLogs.status, 'failed')));
}

/**
 * Registers the execution engine's replay hooks. Called by every process that may replay a dead letter (the api's
 * buildApp and the worker); registering again replaces the hook with itself.
 */
export function registerExecutionReplayHooks(): void {
  registerReplayHook('orders', resetFailedSubmit);
}
