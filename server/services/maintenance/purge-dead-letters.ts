/**
 * Dead letters that were replayed or discarded more than DLQ_RETENTION_DAYS ago are deleted (SPEC §7). Open ones stay
 * however old: someone still has to look at them. The audit trail keeps who replayed or discarded what.
 */
import { and, inArray, lt, type SQL } from 'drizzle-orm';
import { deadLetters } from '#drizzle/schema/dead_letters.ts';
import { env } from '../../lib/env.ts';
import type { ServiceContext } from '../context.ts';
import { type BatchOptions, type BatchRun, daysBefore, runInBatches } from './batches.ts';

export interface PurgeDeadLettersOptions extends BatchOptions {
  now?: Date;
  retentionDays?: number;
}

/**
 * Resolved before `cutoff`. A letter is created before it is resolved, so `created_at < cutoff` holds for every such
 * row and turns the read into a range on dead_letters_status_created_at_idx.
 */
export function purgeableDeadLetters(cutoff: Date): SQL {
  return and(
    inArray(deadLetters.status, ['replayed', 'discarded']),
    lt(deadLetters.createdAt, cutoff),
    lt(deadLetters.resolvedAt, cutoff),
  ) as SQL;
}

/**
 * Each batch reads its ids without locking, then deletes those rows by primary key with the condition repeated, so a
 * statement never locks more than its batch and a row reopened in between is left alone. Idempotent.
 */
export async function purgeResolvedDeadLetters(
  ctx: ServiceContext,
  options: PurgeDeadLettersOptions = {},
): Promise<BatchRun> {
  const cutoff = daysBefore(options.now ?? new Date(), options.retentionDays ?? env.DLQ_RETENTION_DAYS);
  const purgeable = purgeableDeadLetters(cutoff);
  const run = await runInBatches(options, async (batchSize) => {
    const batch = await ctx.db.select({ id: deadLetters.id }).from(deadLetters).where(purgeable).limit(batchSize);
    if (batch.length === 0) return { changed: 0, done: true };
    const ids = batch.map((row) => row.id);
    const [result] = await ctx.db.delete(deadLetters).where(and(inArray(deadLetters.id, ids), purgeable));
    // A short batch was the last; one of which nothing could be deleted would only be read again.
    return { changed: result.affectedRows, done: batch.length < batchSize || result.affectedRows === 0 };
  });
  if (run.changed > 0) ctx.log.info({ ...run, cutoff }, 'purged resolved dead letters');
  return run;
}
