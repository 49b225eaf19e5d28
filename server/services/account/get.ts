import { and, eq } from 'drizzle-orm';
import { users } from '#drizzle/schema/users.ts';
import type { AccountView } from '#shared/schemas/account.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { NotFound } from '../errors.ts';

export async function getAccount(ctx: ServiceContext): Promise<AccountView> {
  const [user] = await ctx.db
    .select({
      id: users.id,
      email: users.email,
      name: users.name,
      role: users.role,
      tradingEnabled: users.tradingEnabled,
      createdAt: users.createdAt,
    })
    .from(users)
    .where(and(eq(users.id, actingUserId(ctx)), notDeleted(users)));
  if (!user) throw new NotFound('User');
  return user;
}
