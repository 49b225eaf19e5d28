import { and, eq, isNull } from 'drizzle-orm';
import { users } from '#drizzle/schema/users.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { DbOrTx } from '../../db/transaction.ts';

/** Whether the user is, right now, a live, enabled administrator (one primary-key lookup). */
export async function isActiveAdmin(db: DbOrTx, userId: number): Promise<boolean> {
  const [row] = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.id, userId), eq(users.role, 'admin'), isNull(users.disabledAt), notDeleted(users)))
    .limit(1);
  return row !== undefined;
}
