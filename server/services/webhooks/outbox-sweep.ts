import { and, asc, eq, gt, lt, or, type SQL } from 'drizzle-orm';
import { webhookLogs } from '#drizzle/schema/webhook_logs.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { ServiceContext } from '../context.ts';

/** A log still `received` this long after it was written missed its enqueue (Redis was down, or the api died). */
export const OUTBOX_MIN_AGE_MS = 30_000;

/**
 * Enqueues the signal jobs of these logs, idempotently (job id from the log id). Injected by the caller, so this
 * verb knows nothing of BullMQ: the maintenance processor passes server/jobs/enqueue.ts `reviveSignals`, which
 * also retries a log's job that failed for good (a plain add under its id would be ignored).
 */
export type EnqueueSignals = (webhookLogIds: number[]) => Promise<void>;

export interface OutboxSweepOptions {
  now?: Date;
  /** Rows read and enqueued per round trip. */
  batchSize?: number;
  /** Batches per sweep: bounds one sweep's work, the next sweep (10 s later) carries on. */
  maxBatches?: number;
}

/**
 * The outbox sweep (SPEC §4 step 6, §7): enqueues every live log still `received` more than OUTBOX_MIN_AGE_MS after
 * it was written. Reads through webhook_logs_status_created_at_idx, oldest first, paging on (created_at, id) since
 * the rows it returns stay `received` until the signals processor claims them. Enqueueing a log that already has a
 * job is harmless: BullMQ ignores the duplicate job id and the processor only claims a `received` log. When Redis
 * is down the enqueue rejects and the sweep fails, to be retried by the next one.
 */
export async function sweepOutbox(
  ctx: ServiceContext,
  enqueueSignals: EnqueueSignals,
  options: OutboxSweepOptions = {},
): Promise<{ swept: number }> {
  const now = options.now ?? new Date();
  const batchSize = options.batchSize ?? 500;
  const maxBatches = options.maxBatches ?? 10;
  const stale = staleReceivedLogs(new Date(now.getTime() - OUTBOX_MIN_AGE_MS));
  let swept = 0;
  let after: { id: number; createdAt: Date } | undefined;
  for (let batch = 0; batch < maxBatches; batch++) {
    const rows = await ctx.db
      .select({ id: webhookLogs.id, createdAt: webhookLogs.createdAt })
      .from(webhookLogs)
      .where(and(stale, after && pastCursor(after)))
      .orderBy(asc(webhookLogs.createdAt), asc(webhookLogs.id))
      .limit(batchSize);
    if (rows.length === 0) break;
    await enqueueSignals(rows.map((row) => row.id));
    swept += rows.length;
    after = rows.at(-1);
    if (rows.length < batchSize) break;
  }
  if (swept > 0) ctx.log.warn({ swept }, 'outbox sweep enqueued logs that were still received');
  return { swept };
}

/** Live logs still `received` that were written before `cutoff`: a range on webhook_logs_status_created_at_idx. */
export function staleReceivedLogs(cutoff: Date): SQL | undefined {
  return and(eq(webhookLogs.status, 'received'), lt(webhookLogs.createdAt, cutoff), notDeleted(webhookLogs));
}

/** Rows after `cursor` in (created_at, id) order. */
function pastCursor(cursor: { id: number; createdAt: Date }): SQL | undefined {
  return or(
    gt(webhookLogs.createdAt, cursor.createdAt),
    and(eq(webhookLogs.createdAt, cursor.createdAt), gt(webhookLogs.id, cursor.id)),
  );
}
