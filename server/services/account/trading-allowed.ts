import { and, eq, isNull, type SQL } from 'drizzle-orm';
import { users } from '#drizzle/schema/users.ts';

/**
 * The one rule for whether a user's signals may become orders: the trader's switch is on AND no admin has locked
 * trading. Signal execution must use this (or `tradingAllowedSql` in a query), never either column alone.
 */
export function tradingAllowed(user: { tradingEnabled: boolean; tradingLockedAt: Date | null }): boolean {
  return user.tradingEnabled && user.tradingLockedAt === null;
}

/** `tradingAllowed` as a WHERE condition on `users`. */
export function tradingAllowedSql(): SQL {
  return and(eq(users.tradingEnabled, true), isNull(users.tradingLockedAt)) as SQL;
}
