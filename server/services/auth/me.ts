import { and, eq } from 'drizzle-orm';
import { users } from '#drizzle/schema/users.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { ServiceContext } from '../context.ts';
import { NotFound } from '../errors.ts';

export async function me(ctx: ServiceContext, userId: number) {
  const [user] = await ctx.db
    .select({
      id: users.id,
      email: users.email,
      name: users.name,
      role: users.role,
      tradingEnabled: users.tradingEnabled,
      createdAt: users.createdAt,
      lastLoginAt: users.lastLoginAt,
    })
    .from(users)
    .where(and(eq(users.id, userId), notDeleted(users)));
  if (!user) throw new NotFound('User');
  return user;
}
