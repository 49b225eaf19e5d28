/**
 * The order side of the outbox sweep (SPEC §7): an order still `pending` well after it was written missed its
 * submit job (Redis was down at commit, or the process died between commit and enqueue), and one still
 * `submitting` long after its claim lost its worker. Releasable ones (no parent, or a filled parent) are enqueued
 * again or their failed job revived; the job id per order makes a second add harmless.
 */
import { and, asc, eq, lt } from 'drizzle-orm';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import type { ServiceContext } from '../context.ts';
import { releasableOrderIds } from './release.ts';

export const PENDING_ORDER_MIN_AGE_MS = 30_000;
/** Twice the orders queue's lock duration: a live submit has renewed or lost its lock by then. */
export const STUCK_SUBMIT_MIN_AGE_MS = 120_000;
const BATCH = 500;

export async function sweepPendingOrders(
  ctx: ServiceContext,
  enqueueSubmit: (orderIds: number[]) => Promise<void>,
  now = new Date(),
): Promise<{ swept: number }> {
  const olderThan = (status: 'pending' | 'submitting', ageMs: number) =>
    ctx.db
      .select({ id: brokerOrders.id })
      .from(brokerOrders)
      .where(and(eq(brokerOrders.status, status), lt(brokerOrders.updatedAt, new Date(now.getTime() - ageMs))))
      .orderBy(asc(brokerOrders.status), asc(brokerOrders.updatedAt))
      .limit(BATCH);
  const pending = await olderThan('pending', PENDING_ORDER_MIN_AGE_MS);
  const ready = await releasableOrderIds(
    ctx.db,
    pending.map((row) => row.id),
  );
  // A submit cut off by a crash stays `submitting`; its job comes back as stalled, or failed when it stalled too
  // often. Past the job's lock its job is either running again or needs reviving (it looks the order up first).
  const stuck = (await olderThan('submitting', STUCK_SUBMIT_MIN_AGE_MS)).map((row) => row.id);
  const swept = [...ready, ...stuck];
  if (swept.length > 0) {
    await enqueueSubmit(swept);
    ctx.log.warn({ pending: ready.length, submitting: stuck.length }, 'outbox sweep enqueued orders left unsubmitted');
  }
  return { swept: swept.length };
}
