import { and, eq } from 'drizzle-orm';
import { sessions } from '#drizzle/schema/sessions.ts';
import { users } from '#drizzle/schema/users.ts';
import type { AuthResult } from '#shared/schemas/auth.ts';
import { emitAudit } from '../../audit/emit.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import { withTransaction } from '../../db/transaction.ts';
import { sha256Hex } from '../../lib/crypto.ts';
import type { ServiceContext } from '../context.ts';
import { Unauthorized } from '../errors.ts';
import { forgetSessions } from './session-check.ts';
import { revokeFamily, startSession, toPublicUser } from './sessions.ts';

const INVALID = 'Refresh token is invalid or expired; sign in again';

type Outcome = { ok: true; result: AuthResult } | { ok: false; reusedBy?: number };

/**
 * Rotates a refresh token: the presented session is marked replaced and a new one in the same family is issued.
 * Presenting a token that was already rotated (`replaced_by` set) is treated as theft: the whole family is revoked
 * and an audit row written. That revocation must commit, so the transaction returns an outcome and the error is
 * thrown after it. A token that was merely revoked (logout, password change, disabled account) or has expired is
 * just invalid: its owner ended it, nobody stole it.
 */
export async function refresh(ctx: ServiceContext, refreshToken: string): Promise<AuthResult> {
  const outcome = await withTransaction(ctx, async (tx): Promise<Outcome> => {
    // FOR UPDATE: two concurrent refreshes with one token are serialised, and the second one counts as reuse.
    const [session] = await tx
      .select()
      .from(sessions)
      .where(eq(sessions.refreshTokenHash, sha256Hex(refreshToken)))
      .for('update');
    if (!session) return { ok: false };

    if (session.replacedBy !== null) {
      const revoked = await revokeFamily(tx, session.familyId);
      await emitAudit(tx, ctx, {
        action: 'auth.refresh_reuse',
        resourceType: 'session',
        resourceId: session.id,
        userId: session.userId,
        newValue: { familyId: session.familyId, sessionsRevoked: revoked },
      });
      return { ok: false, reusedBy: session.userId };
    }
    if (session.revokedAt || session.expiresAt.getTime() <= Date.now()) return { ok: false };

    const [user] = await tx
      .select()
      .from(users)
      .where(and(eq(users.id, session.userId), notDeleted(users)));
    if (!user || user.disabledAt) return { ok: false };

    const { result, sessionId } = await startSession(tx, ctx, toPublicUser(user), session.familyId);
    await tx.update(sessions).set({ replacedBy: sessionId, revokedAt: new Date() }).where(eq(sessions.id, session.id));
    return { ok: true, result };
  });
  if (!outcome.ok) {
    // The family is dead now: its access tokens stop working here at once, not when the cached check expires.
    if (outcome.reusedBy !== undefined) forgetSessions(outcome.reusedBy);
    throw new Unauthorized(INVALID);
  }
  return outcome.result;
}
