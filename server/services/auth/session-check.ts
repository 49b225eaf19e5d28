/**
 * Whether an access token still speaks for a session: its user live and not disabled, and its session family (the
 * `fam` claim) still holding a session that is neither revoked nor expired. Without this a disabled user, or a
 * family ended by logout, refresh-token reuse or a password change, would keep access until the token expires.
 *
 * protectedProcedure asks on every call, so answers are cached in this process for CACHE_TTL_MS per (user, family):
 * one indexed query per client every few seconds. Revocations made by this process forget the user's answers at
 * once (forgetSessions); one made by another api instance takes effect here within CACHE_TTL_MS.
 */
import { and, eq, gt, isNull } from 'drizzle-orm';
import { sessions } from '#drizzle/schema/sessions.ts';
import { users } from '#drizzle/schema/users.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { DbOrTx } from '../../db/transaction.ts';

const CACHE_TTL_MS = 5_000;
// Bounds memory whatever the number of distinct tokens presented; the oldest answer goes first.
const CACHE_MAX_ENTRIES = 10_000;

const cache = new Map<string, { live: boolean; until: number }>();
const keyOf = (userId: number, family: string) => `${userId}|${family}`;

export async function isSessionLive(db: DbOrTx, userId: number, family: string): Promise<boolean> {
  // A token without a family claim was not issued by startSession.
  if (!family) return false;
  const key = keyOf(userId, family);
  const now = Date.now();
  const cached = cache.get(key);
  if (cached && cached.until > now) return cached.live;

  // Served by sessions_family_id_idx and the users primary key.
  const [row] = await db
    .select({ id: sessions.id })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(
        eq(sessions.familyId, family),
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, new Date(now)),
        isNull(users.disabledAt),
        notDeleted(users),
      ),
    )
    .limit(1);
  const live = row !== undefined;

  cache.delete(key);
  if (cache.size >= CACHE_MAX_ENTRIES) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(key, { live, until: now + CACHE_TTL_MS });
  return live;
}

/** Drops the cached answers for a user's sessions; call after the transaction that revoked some of them commits. */
export function forgetSessions(userId: number): void {
  const prefix = `${userId}|`;
  for (const key of cache.keys()) {
    if (key.startsWith(prefix)) cache.delete(key);
  }
}
