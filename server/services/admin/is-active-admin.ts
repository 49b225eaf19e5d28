import { and, asc, eq, isNull } from 'drizzle-orm';
import { users } from '#drizzle/schema/users.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { DbOrTx, Transaction } from '../../db/transaction.ts';

/** Whether the user is, right now, a live, enabled administrator (one primary-key lookup). */
export async function isActiveAdmin(db: DbOrTx, userId: number): Promise<boolean> {
  const [row] = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.id, userId), eq(users.role, 'admin'), isNull(users.disabledAt), notDeleted(users)))
    .limit(1);
  return row !== undefined;
}

/**
 * Locks every live, enabled administrator row (FOR UPDATE, in id order) in the caller's transaction and returns
 * their ids. Every change that can take an administrator away takes these locks first, so two admins demoting or
 * disabling each other at once run one after the other and the second sees that it would leave none.
 */
export async function lockActiveAdminIds(tx: Transaction): Promise<number[]> {
  const rows = await tx
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.role, 'admin'), isNull(users.disabledAt), notDeleted(users)))
    .orderBy(asc(users.id))
    .for('update');
  return rows.map((row) => row.id);
}
