/**
 * Reconciliation writes one run per connection every RECONCILE_INTERVAL_S (1,440 a day at the default), so runs
 * older than RECONCILE_RUNS_RETENTION_DAYS are deleted. What a run found that matters outlives it: a mismatch was
 * notified (notifications) and an adopted broker truth is in the audit trail.
 *
 * Runs are inserted as they start, so ids grow with started_at: the walk goes by primary key, oldest first, and stops
 * at the first run that is recent enough. Every run deleted is older than every run kept, so what remains is always
 * a suffix of the ids and each batch starts at the table's first row.
 */
import { and, asc, inArray, lt } from 'drizzle-orm';
import { reconciliationRuns } from '#drizzle/schema/reconciliation_runs.ts';
import { env } from '../../lib/env.ts';
import type { ServiceContext } from '../context.ts';
import { type BatchOptions, type BatchRun, daysBefore, runInBatches } from './batches.ts';

export interface PurgeReconciliationRunsOptions extends BatchOptions {
  now?: Date;
  retentionDays?: number;
}

export async function purgeReconciliationRuns(
  ctx: ServiceContext,
  options: PurgeReconciliationRunsOptions = {},
): Promise<BatchRun> {
  const cutoff = daysBefore(options.now ?? new Date(), options.retentionDays ?? env.RECONCILE_RUNS_RETENTION_DAYS);
  const run = await runInBatches(options, async (batchSize) => {
    const rows = await ctx.db
      .select({ id: reconciliationRuns.id, startedAt: reconciliationRuns.startedAt })
      .from(reconciliationRuns)
      .orderBy(asc(reconciliationRuns.id))
      .limit(batchSize);
    const tooNew = rows.findIndex((row) => row.startedAt >= cutoff);
    const old = tooNew === -1 ? rows : rows.slice(0, tooNew);
    if (old.length === 0) return { changed: 0, done: true };
    const [result] = await ctx.db.delete(reconciliationRuns).where(
      and(
        inArray(
          reconciliationRuns.id,
          old.map((row) => row.id),
        ),
        lt(reconciliationRuns.startedAt, cutoff),
      ),
    );
    return { changed: result.affectedRows, done: old.length < rows.length || rows.length < batchSize };
  });
  if (run.changed > 0) ctx.log.info({ ...run, cutoff }, 'purged old reconciliation runs');
  return run;
}
