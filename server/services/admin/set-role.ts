import { eq } from 'drizzle-orm';
import type { z } from 'zod';
import { users } from '#drizzle/schema/users.ts';
import type { AdminUser, setRoleInput } from '#shared/schemas/admin.ts';
import { emitAudit } from '../../audit/emit.ts';
import { withTransaction } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { Precondition } from '../errors.ts';
import { lockActiveAdminIds } from './is-active-admin.ts';
import { lockUser } from './user-view.ts';

/**
 * Grants or removes the administrator role. An admin cannot demote themself, and no change may leave no active
 * administrator (two admins demoting each other at once). The change reaches the user's tokens at their next
 * refresh; admin procedures check the role in the database, so a demotion takes effect on admin access at once.
 */
export async function setRole(ctx: ServiceContext, input: z.infer<typeof setRoleInput>): Promise<AdminUser> {
  if (input.userId === actingUserId(ctx) && input.role !== 'admin') {
    throw new Precondition('You cannot remove your own administrator role; ask another administrator');
  }
  return withTransaction(ctx, async (tx) => {
    // The admin rows first, then the target: every admin change locks in this order, so none deadlock.
    const admins = await lockActiveAdminIds(tx);
    const before = await lockUser(tx, input.userId);
    if (input.role !== 'admin' && admins.length === 1 && admins[0] === before.id) {
      throw new Precondition('This is the last active administrator; make another administrator first');
    }
    if (before.role !== input.role) await tx.update(users).set({ role: input.role }).where(eq(users.id, before.id));
    await emitAudit(tx, ctx, {
      action: 'user.set_role',
      actorType: 'admin',
      resourceType: 'user',
      resourceId: before.id,
      oldValue: { role: before.role },
      newValue: { role: input.role },
    });
    return { ...before, role: input.role };
  });
}
