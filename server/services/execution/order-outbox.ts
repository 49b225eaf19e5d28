/**
 * The order side of the outbox sweep (SPEC §7): an order still `pending` well after it was written missed its
 * submit job (Redis was down at commit, or the process died between commit and enqueue). Releasable ones (no
 * parent, or a filled parent) are enqueued again; the job id per order makes a second add harmless.
 */
import { and, asc, eq, lt } from 'drizzle-orm';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import type { ServiceContext } from '../context.ts';
import { releasableOrderIds } from './release.ts';

export const PENDING_ORDER_MIN_AGE_MS = 30_000;
const BATCH = 500;

export async function sweepPendingOrders(
  ctx: ServiceContext,
  enqueueSubmit: (orderIds: number[]) => Promise<void>,
  now = new Date(),
): Promise<{ swept: number }> {
  const rows = await ctx.db
    .select({ id: brokerOrders.id })
    .from(brokerOrders)
    .where(
      and(
        eq(brokerOrders.status, 'pending'),
        lt(brokerOrders.updatedAt, new Date(now.getTime() - PENDING_ORDER_MIN_AGE_MS)),
      ),
    )
    .orderBy(asc(brokerOrders.status), asc(brokerOrders.updatedAt))
    .limit(BATCH);
  const ready = await releasableOrderIds(
    ctx.db,
    rows.map((row) => row.id),
  );
  if (ready.length > 0) {
    await enqueueSubmit(ready);
    ctx.log.warn({ swept: ready.length }, 'outbox sweep enqueued orders that were still pending');
  }
  return { swept: ready.length };
}
