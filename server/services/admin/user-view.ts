/**
 * The account fields admin procedures read and answer with (never the password hash), and the row lock every admin
 * change of a user starts with.
 */
import { and, eq } from 'drizzle-orm';
import { users } from '#drizzle/schema/users.ts';
import type { AdminUser } from '#shared/schemas/admin.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { Transaction } from '../../db/transaction.ts';
import { NotFound } from '../errors.ts';

export const adminUserColumns = {
  id: users.id,
  email: users.email,
  name: users.name,
  role: users.role,
  tradingEnabled: users.tradingEnabled,
  tradingLockedAt: users.tradingLockedAt,
  tradingLockedBy: users.tradingLockedBy,
  disabledAt: users.disabledAt,
  lastLoginAt: users.lastLoginAt,
  createdAt: users.createdAt,
};

/** Loads a live user FOR UPDATE in the caller's transaction, so concurrent admin changes apply one after another. */
export async function lockUser(tx: Transaction, userId: number): Promise<AdminUser> {
  const [user] = await tx
    .select(adminUserColumns)
    .from(users)
    .where(and(eq(users.id, userId), notDeleted(users)))
    .for('update');
  if (!user) throw new NotFound('User');
  return user;
}
