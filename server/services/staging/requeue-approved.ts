import { and, asc, eq, lt } from 'drizzle-orm';
import { stagingTrades } from '#drizzle/schema/staging_trades.ts';
import { webhookLogs } from '#drizzle/schema/webhook_logs.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { ServiceContext } from '../context.ts';

/** An approval whose log is still `received` this long after the decision missed its signal job. */
export const APPROVAL_REQUEUE_AFTER_MS = 10_000;

/** Adds the approved-signal jobs of these logs (job id approvedSignalJobId, so a second add is ignored). */
export type EnqueueApprovedSignals = (webhookLogIds: number[]) => Promise<void>;

/**
 * The outbox of approvals (run by the `expire-staged` job): an approval commits before its signal job is added, and
 * that add can fail. The engine consumes an approval (`approved` → `executed`) in the run that executes it, so an
 * approval still `approved` whose log is still `received` a while after the decision has no run behind it, and its
 * job is added again under the approval's own job id: unlike the outbox sweep's `log-<id>`, that id is not held by
 * the log's first job. At most `limit` per run, oldest decision first; Redis being down fails the run, and the next
 * one tries again.
 */
export async function requeueApproved(
  ctx: ServiceContext,
  enqueue: EnqueueApprovedSignals,
  options: { now?: Date; limit?: number } = {},
): Promise<{ requeued: number }> {
  const now = options.now ?? new Date();
  const rows = await ctx.db
    .select({ webhookLogId: stagingTrades.webhookLogId })
    .from(stagingTrades)
    .innerJoin(webhookLogs, eq(webhookLogs.id, stagingTrades.webhookLogId))
    .where(
      and(
        eq(stagingTrades.status, 'approved'),
        lt(stagingTrades.decidedAt, new Date(now.getTime() - APPROVAL_REQUEUE_AFTER_MS)),
        eq(webhookLogs.status, 'received'),
        notDeleted(webhookLogs),
      ),
    )
    .orderBy(asc(stagingTrades.decidedAt))
    .limit(options.limit ?? 500);
  if (rows.length === 0) return { requeued: 0 };
  await enqueue(rows.map((row) => row.webhookLogId));
  ctx.log.warn({ requeued: rows.length }, 'approved signals enqueued again: their first enqueue was lost');
  return { requeued: rows.length };
}
