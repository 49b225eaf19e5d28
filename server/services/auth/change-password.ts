import { and, eq, isNull, ne } from 'drizzle-orm';
import type { z } from 'zod';
import { sessions } from '#drizzle/schema/sessions.ts';
import { users } from '#drizzle/schema/users.ts';
import type { changePasswordInput } from '#shared/schemas/auth.ts';
import { emitAudit } from '../../audit/emit.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import { withTransaction } from '../../db/transaction.ts';
import { hashPassword, verifyPassword } from '../../lib/passwords.ts';
import type { ServiceContext } from '../context.ts';
import { InvalidInput, NotFound, Unauthorized } from '../errors.ts';
import { runHashing } from './hashing.ts';
import { forgetSessions } from './session-check.ts';

/** Changes the password and revokes every session except the caller's own family. */
export async function changePassword(
  ctx: ServiceContext,
  caller: { userId: number; sessionFamily: string },
  input: z.infer<typeof changePasswordInput>,
): Promise<{ ok: true; sessionsRevoked: number }> {
  const [user] = await ctx.db
    .select({ id: users.id, email: users.email, passwordHash: users.passwordHash })
    .from(users)
    .where(and(eq(users.id, caller.userId), notDeleted(users)));
  if (!user) throw new NotFound('User');
  if (!(await runHashing(() => verifyPassword(user.passwordHash, input.currentPassword)))) {
    throw new Unauthorized('Current password is incorrect');
  }
  if (input.newPassword.toLowerCase() === user.email) {
    throw new InvalidInput('The new password must not be the same as the email address');
  }
  const passwordHash = await runHashing(() => hashPassword(input.newPassword));

  const outcome = await withTransaction(ctx, async (tx) => {
    await tx.update(users).set({ passwordHash }).where(eq(users.id, user.id));
    const [revoked] = await tx
      .update(sessions)
      .set({ revokedAt: new Date() })
      .where(
        and(eq(sessions.userId, user.id), isNull(sessions.revokedAt), ne(sessions.familyId, caller.sessionFamily)),
      );
    await emitAudit(tx, ctx, {
      action: 'auth.password_change',
      resourceType: 'user',
      resourceId: user.id,
      newValue: { sessionsRevoked: revoked.affectedRows },
    });
    return { ok: true as const, sessionsRevoked: revoked.affectedRows };
  });
  // The other families' access tokens stop working here at once, not when the cached session check expires.
  forgetSessions(user.id);
  return outcome;
}
