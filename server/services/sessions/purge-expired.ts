import { and, inArray, lt, or, type SQL } from 'drizzle-orm';
import { sessions } from '#drizzle/schema/sessions.ts';
import type { ServiceContext } from '../context.ts';

/** Expired or revoked refresh sessions are kept this long so token-reuse detection still sees their family. */
export const SESSION_RETENTION_DAYS = 7;

/**
 * Sessions that expired or were revoked before `cutoff`. A NULL revoked_at never compares below the cutoff, so each
 * arm is a plain range on its own index (sessions_expires_at_idx, sessions_revoked_at_idx).
 */
export function staleSessions(cutoff: Date): SQL {
  return or(lt(sessions.expiresAt, cutoff), lt(sessions.revokedAt, cutoff)) as SQL;
}

export interface PurgeOptions {
  now?: Date;
  batchSize?: number;
}

/**
 * Deletes refresh sessions that expired or were revoked more than SESSION_RETENTION_DAYS ago. Each batch finds its
 * ids with a plain (non-locking) read through the expires_at and revoked_at indexes, then deletes those rows by
 * primary key, so no statement scans or locks more than the batch. The delete repeats the condition, so a row that
 * changed in between is left alone. Idempotent: a second run finds nothing.
 */
export async function purgeExpiredSessions(
  ctx: ServiceContext,
  options: PurgeOptions = {},
): Promise<{ deleted: number }> {
  const now = options.now ?? new Date();
  const batchSize = options.batchSize ?? 1_000;
  const stale = staleSessions(new Date(now.getTime() - SESSION_RETENTION_DAYS * 24 * 3600 * 1000));
  let deleted = 0;
  for (;;) {
    const batch = await ctx.db.select({ id: sessions.id }).from(sessions).where(stale).limit(batchSize);
    if (batch.length === 0) break;
    const ids = batch.map((row) => row.id);
    const [result] = await ctx.db.delete(sessions).where(and(inArray(sessions.id, ids), stale));
    deleted += result.affectedRows;
    // A short batch was the last; a batch of which nothing could be deleted would only be read again.
    if (batch.length < batchSize || result.affectedRows === 0) break;
  }
  if (deleted > 0) ctx.log.info({ deleted }, 'purged expired sessions');
  return { deleted };
}
