import { eq } from 'drizzle-orm';
import { sessions } from '#drizzle/schema/sessions.ts';
import { emitAudit } from '../../audit/emit.ts';
import { withTransaction } from '../../db/transaction.ts';
import { sha256Hex } from '../../lib/crypto.ts';
import type { ServiceContext } from '../context.ts';
import { revokeFamily } from './sessions.ts';

/** Ends the session family of a refresh token. Idempotent: an unknown or already revoked token is a no-op. */
export async function logout(ctx: ServiceContext, refreshToken: string): Promise<{ ok: true }> {
  await withTransaction(ctx, async (tx) => {
    const [session] = await tx
      .select({ id: sessions.id, userId: sessions.userId, familyId: sessions.familyId })
      .from(sessions)
      .where(eq(sessions.refreshTokenHash, sha256Hex(refreshToken)));
    if (!session) return;
    const revoked = await revokeFamily(tx, session.familyId);
    if (revoked > 0) {
      await emitAudit(tx, ctx, {
        action: 'auth.logout',
        resourceType: 'session',
        resourceId: session.id,
        userId: session.userId,
      });
    }
  });
  return { ok: true };
}
