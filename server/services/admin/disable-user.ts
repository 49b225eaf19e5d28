import { and, eq, isNull } from 'drizzle-orm';
import type { z } from 'zod';
import { sessions } from '#drizzle/schema/sessions.ts';
import { users } from '#drizzle/schema/users.ts';
import type { AdminUser, disableUserInput } from '#shared/schemas/admin.ts';
import { emitAudit } from '../../audit/emit.ts';
import { withTransaction } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { Precondition } from '../errors.ts';
import { lockUser } from './user-view.ts';

/**
 * Disables or re-enables an account. Disabling revokes every live session, so the user cannot refresh and is out
 * once their current access token expires; login refuses a disabled account. An admin cannot disable themself.
 */
export async function disableUser(ctx: ServiceContext, input: z.infer<typeof disableUserInput>): Promise<AdminUser> {
  if (input.disabled && input.userId === actingUserId(ctx)) {
    throw new Precondition('You cannot disable your own account');
  }
  return withTransaction(ctx, async (tx) => {
    const before = await lockUser(tx, input.userId);
    // Disabling twice keeps the original time.
    const disabledAt = input.disabled ? (before.disabledAt ?? new Date()) : null;
    await tx.update(users).set({ disabledAt }).where(eq(users.id, before.id));
    let sessionsRevoked = 0;
    if (input.disabled) {
      const [result] = await tx
        .update(sessions)
        .set({ revokedAt: new Date() })
        .where(and(eq(sessions.userId, before.id), isNull(sessions.revokedAt)));
      sessionsRevoked = result.affectedRows;
    }
    await emitAudit(tx, ctx, {
      action: input.disabled ? 'user.disable' : 'user.enable',
      actorType: 'admin',
      resourceType: 'user',
      resourceId: before.id,
      oldValue: { disabled: before.disabledAt !== null },
      newValue: input.disabled ? { disabled: true, sessionsRevoked } : { disabled: false },
    });
    return { ...before, disabledAt };
  });
}
