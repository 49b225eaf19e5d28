import { and, isNotNull, lt, or } from 'drizzle-orm';
import { sessions } from '#drizzle/schema/sessions.ts';
import type { ServiceContext } from '../context.ts';

/** Expired or revoked refresh sessions are kept this long so token-reuse detection still sees their family. */
export const SESSION_RETENTION_DAYS = 7;
const BATCH = 1_000;

/**
 * Deletes refresh sessions that expired or were revoked more than SESSION_RETENTION_DAYS ago, in small batches so
 * no single statement holds locks for long. Idempotent: a second run finds nothing.
 */
export async function purgeExpiredSessions(ctx: ServiceContext, now = new Date()): Promise<{ deleted: number }> {
  const cutoff = new Date(now.getTime() - SESSION_RETENTION_DAYS * 24 * 3600 * 1000);
  const stale = or(lt(sessions.expiresAt, cutoff), and(isNotNull(sessions.revokedAt), lt(sessions.revokedAt, cutoff)));
  let deleted = 0;
  for (;;) {
    const [result] = await ctx.db.delete(sessions).where(stale).limit(BATCH);
    deleted += result.affectedRows;
    if (result.affectedRows < BATCH) break;
  }
  if (deleted > 0) ctx.log.info({ deleted }, 'purged expired sessions');
  return { deleted };
}
