import { eq } from 'drizzle-orm';
import { sessions } from '#drizzle/schema/sessions.ts';
import { emitAudit } from '../../audit/emit.ts';
import { withTransaction } from '../../db/transaction.ts';
import { sha256Hex } from '../../lib/crypto.ts';
import type { ServiceContext } from '../context.ts';
import { forgetSessions } from './session-check.ts';
import { revokeFamily } from './sessions.ts';

/** Ends the session family of a refresh token. Idempotent: an unknown or already revoked token is a no-op. */
export async function logout(ctx: ServiceContext, refreshToken: string): Promise<{ ok: true }> {
  const loggedOut = await withTransaction(ctx, async (tx) => {
    const [session] = await tx
      .select({ id: sessions.id, userId: sessions.userId, familyId: sessions.familyId })
      .from(sessions)
      .where(eq(sessions.refreshTokenHash, sha256Hex(refreshToken)));
    if (!session) return null;
    const revoked = await revokeFamily(tx, session.familyId);
    if (revoked === 0) return null;
    await emitAudit(tx, ctx, {
      action: 'auth.logout',
      resourceType: 'session',
      resourceId: session.id,
      userId: session.userId,
    });
    return session.userId;
  });
  // The family's access tokens stop working here at once, not when the cached session check expires.
  if (loggedOut !== null) forgetSessions(loggedOut);
  return { ok: true };
}
