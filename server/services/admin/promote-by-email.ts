import { and, eq } from 'drizzle-orm';
import { users } from '#drizzle/schema/users.ts';
import { emitAudit } from '../../audit/emit.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import { withTransaction } from '../../db/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { NotFound } from '../errors.ts';

export type PromoteOutcome = { userId: number; alreadyAdmin: boolean };

/**
 * Makes an existing account an administrator: how the first admin comes to be (scripts/create-admin.ts). Runs as
 * a system actor; a second run finds the user already admin and changes nothing.
 */
export async function promoteByEmail(ctx: ServiceContext, email: string): Promise<PromoteOutcome> {
  return withTransaction(ctx, async (tx) => {
    const [user] = await tx
      .select({ id: users.id, role: users.role })
      .from(users)
      .where(and(eq(users.email, email), notDeleted(users)))
      .for('update');
    if (!user) throw new NotFound(`User with email ${email}`);
    if (user.role === 'admin') return { userId: user.id, alreadyAdmin: true };
    await tx.update(users).set({ role: 'admin' }).where(eq(users.id, user.id));
    await emitAudit(tx, ctx, {
      action: 'user.set_role',
      resourceType: 'user',
      resourceId: user.id,
      oldValue: { role: user.role },
      newValue: { role: 'admin' },
    });
    return { userId: user.id, alreadyAdmin: false };
  });
}
