/**
 * webhook_logs is the fastest-growing table, and raw_body (up to 64 KiB) most of its bytes. After
 * WEBHOOK_RAW_RETENTION_DAYS the body is set to NULL; the row, its status, error and normalized payload stay, so the
 * trader's history keeps what each alert became.
 *
 * The walk goes by primary key, oldest first, and stops at the first row that is not old enough: ids grow with
 * time, so everything after it is newer. Because every run prunes in id order and stops there, the pruned rows
 * always form a prefix of the ids, and the next run finds where to resume with a binary search over the primary
 * key (a few dozen point reads) instead of rereading millions of pruned rows or keeping a watermark somewhere.
 * Nothing else sets raw_body to NULL; anything that ever does must keep that prefix property.
 */
import { and, asc, gte, inArray, isNotNull, lt, max, min, sql } from 'drizzle-orm';
import { webhookLogs } from '#drizzle/schema/webhook_logs.ts';
import { env } from '../../lib/env.ts';
import type { ServiceContext } from '../context.ts';
import { type BatchOptions, type BatchRun, daysBefore, runInBatches } from './batches.ts';

export interface PruneWebhookBodiesOptions extends BatchOptions {
  now?: Date;
  retentionDays?: number;
}

export async function pruneWebhookBodies(
  ctx: ServiceContext,
  options: PruneWebhookBodiesOptions = {},
): Promise<BatchRun> {
  const cutoff = daysBefore(options.now ?? new Date(), options.retentionDays ?? env.WEBHOOK_RAW_RETENTION_DAYS);
  let cursor = await firstUnprunedId(ctx);
  const run =
    cursor === null
      ? { changed: 0, batches: 0, finished: true }
      : await runInBatches(options, async (batchSize) => {
          const rows = await ctx.db
            .select({ id: webhookLogs.id, createdAt: webhookLogs.createdAt })
            .from(webhookLogs)
            .where(gte(webhookLogs.id, cursor ?? 0))
            .orderBy(asc(webhookLogs.id))
            .limit(batchSize);
          const tooNew = rows.findIndex((row) => row.createdAt >= cutoff);
          const old = tooNew === -1 ? rows : rows.slice(0, tooNew);
          let changed = 0;
          if (old.length > 0) {
            const [result] = await ctx.db
              .update(webhookLogs)
              // Setting updated_at to itself keeps its ON UPDATE from firing: the log's history shows updated_at as
              // the time of its last status change, which pruning is not.
              .set({ rawBody: null, updatedAt: sql`${webhookLogs.updatedAt}` })
              .where(
                and(
                  inArray(
                    webhookLogs.id,
                    old.map((row) => row.id),
                  ),
                  lt(webhookLogs.createdAt, cutoff),
                  isNotNull(webhookLogs.rawBody),
                ),
              );
            changed = result.affectedRows;
            cursor = (old.at(-1)?.id ?? 0) + 1;
          }
          return { changed, done: old.length < rows.length || rows.length < batchSize };
        });
  if (run.changed > 0) ctx.log.info({ ...run, cutoff }, 'pruned raw bodies of old webhook logs');
  return run;
}

/**
 * The smallest id whose raw_body is still there, or null when the table is empty. Relies on the pruned rows
 * forming a prefix of the ids (see above): each probe reads the first row at or after `mid` by primary key.
 */
export async function firstUnprunedId(ctx: ServiceContext): Promise<number | null> {
  const [bounds] = await ctx.db.select({ lo: min(webhookLogs.id), hi: max(webhookLogs.id) }).from(webhookLogs);
  if (!bounds || bounds.lo === null || bounds.hi === null) return null;
  let lo = Number(bounds.lo);
  let hi = Number(bounds.hi);
  let found: number | null = null;
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    const [row] = await ctx.db
      .select({ id: webhookLogs.id, pruned: sql<number>`${webhookLogs.rawBody} is null` })
      .from(webhookLogs)
      .where(gte(webhookLogs.id, mid))
      .orderBy(asc(webhookLogs.id))
      .limit(1);
    if (!row || row.id > hi) {
      hi = mid - 1; // no row in [mid, hi]
    } else if (Number(row.pruned) === 1) {
      lo = row.id + 1;
    } else {
      found = row.id; // the answer is this row or one before mid
      hi = mid - 1;
    }
  }
  // Every row pruned: resume after the last one.
  return found ?? Number(bounds.hi) + 1;
}
