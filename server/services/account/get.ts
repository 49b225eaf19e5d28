import { and, eq } from 'drizzle-orm';
import { users } from '#drizzle/schema/users.ts';
import type { AccountView } from '#shared/schemas/account.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { NotFound } from '../errors.ts';

/** The signed-in user's own account; `account.get` and `auth.me` both answer with it. */
export async function getAccount(ctx: ServiceContext, userId = actingUserId(ctx)): Promise<AccountView> {
  const [user] = await ctx.db
    .select({
      id: users.id,
      email: users.email,
      name: users.name,
      role: users.role,
      tradingEnabled: users.tradingEnabled,
      tradingLockedAt: users.tradingLockedAt,
      lastLoginAt: users.lastLoginAt,
      createdAt: users.createdAt,
    })
    .from(users)
    .where(and(eq(users.id, userId), notDeleted(users)));
  if (!user) throw new NotFound('User');
  const { tradingLockedAt, ...account } = user;
  // The trader learns that an admin stopped trading, not when or by whom.
  return { ...account, tradingLockedByAdmin: tradingLockedAt !== null };
}
