/**
 * Refresh-token sessions. A login starts a family; every refresh rotates the token within it. Only SHA-256 hashes of
 * tokens are stored. Runs in the caller's transaction.
 */
import { randomUUID } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import { sessions } from '#drizzle/schema/sessions.ts';
import type { AuthResult, PublicUser } from '#shared/schemas/auth.ts';
import type { Transaction } from '../../db/transaction.ts';
import { randomToken, sha256Hex } from '../../lib/crypto.ts';
import { ACCESS_TOKEN_TTL_S, signAccessToken } from '../../lib/tokens.ts';
import type { ServiceContext } from '../context.ts';

export const REFRESH_TOKEN_TTL_DAYS = 30;

export async function startSession(
  tx: Transaction,
  ctx: ServiceContext,
  user: PublicUser,
  familyId: string = randomUUID(),
): Promise<{ result: AuthResult; sessionId: number }> {
  const refreshToken = randomToken(32);
  const [inserted] = await tx
    .insert(sessions)
    .values({
      userId: user.id,
      familyId,
      refreshTokenHash: sha256Hex(refreshToken),
      expiresAt: new Date(Date.now() + REFRESH_TOKEN_TTL_DAYS * 24 * 3600 * 1000),
      ip: ctx.ip?.slice(0, 45) ?? null,
      userAgent: ctx.userAgent?.slice(0, 512) ?? null,
    })
    .$returningId();
  if (!inserted) throw new Error('session insert returned no id');
  const accessToken = await signAccessToken({ userId: user.id, role: user.role, sessionFamily: familyId });
  return { result: { user, accessToken, refreshToken, expiresIn: ACCESS_TOKEN_TTL_S }, sessionId: inserted.id };
}

/** Revokes every live session of a family (logout, or reuse of a rotated token). Returns how many were revoked. */
export async function revokeFamily(tx: Transaction, familyId: string): Promise<number> {
  const [result] = await tx
    .update(sessions)
    .set({ revokedAt: new Date() })
    .where(and(eq(sessions.familyId, familyId), isNull(sessions.revokedAt)));
  return result.affectedRows;
}

export function toPublicUser(row: { id: number; email: string; name: string; role: 'user' | 'admin' }): PublicUser {
  return { id: row.id, email: row.email, name: row.name, role: row.role };
}
