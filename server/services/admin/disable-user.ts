import { and, eq, isNull } from 'drizzle-orm';
import type { z } from 'zod';
import { sessions } from '#drizzle/schema/sessions.ts';
import { users } from '#drizzle/schema/users.ts';
import type { AdminUser, disableUserInput } from '#shared/schemas/admin.ts';
import { emitAudit } from '../../audit/emit.ts';
import { withTransaction } from '../../db/transaction.ts';
import { forgetSessions } from '../auth/session-check.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { Precondition } from '../errors.ts';
import { invalidateWebhookStrategies } from '../webhooks/strategy-cache.ts';
import { lockActiveAdminIds } from './is-active-admin.ts';
import { lockUser } from './user-view.ts';

/**
 * Disables or re-enables an account. Disabling revokes every live session, so the user cannot refresh and their
 * access tokens stop working (protectedProcedure checks the session); login refuses a disabled account. An admin
 * cannot disable themself, and no change may leave no active administrator.
 */
export async function disableUser(ctx: ServiceContext, input: z.infer<typeof disableUserInput>): Promise<AdminUser> {
  if (input.disabled && input.userId === actingUserId(ctx)) {
    throw new Precondition('You cannot disable your own account');
  }
  const after = await withTransaction(ctx, async (tx) => {
    // The admin rows first, then the target: every admin change locks in this order, so none deadlock.
    const admins = await lockActiveAdminIds(tx);
    const before = await lockUser(tx, input.userId);
    if (input.disabled && admins.length === 1 && admins[0] === before.id) {
      throw new Precondition('This is the last active administrator; make another administrator first');
    }
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
  // The user's access tokens stop working here at once, not when the cached session check expires.
  if (input.disabled) forgetSessions(after.id);
  // A disabled account's alerts answer trading-disabled from the next one.
  invalidateWebhookStrategies({ userId: after.id });
  return after;
}
