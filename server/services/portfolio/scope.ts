/**
 * Which trades a figure covers: the caller's (optionally one strategy's), never soft-deleted ones, and for realized
 * figures the trades closed in [from, to). Every portfolio query builds its WHERE clause here, so "a deleted trade
 * counts nowhere" and "a trade belongs to the moment it closed" hold in one place.
 */
import { and, eq, gte, isNull, lt, type SQL } from 'drizzle-orm';
import { trades } from '#drizzle/schema/trades.ts';

export interface TradeScope {
  userId: number;
  strategyId?: number;
  /** Inclusive. */
  from?: Date;
  /** Exclusive. */
  to?: Date;
}

/**
 * Closed, live trades of the scope whose exit falls in the period. Served by trades_user_id_status_exit_date_cover_idx
 * (user_id, status, exit_date), whose trailing columns also cover what the figures read.
 */
export function closedInPeriod(scope: TradeScope): SQL {
  return and(
    eq(trades.userId, scope.userId),
    eq(trades.status, 'closed'),
    scope.from === undefined ? undefined : gte(trades.exitDate, scope.from),
    scope.to === undefined ? undefined : lt(trades.exitDate, scope.to),
    scope.strategyId === undefined ? undefined : eq(trades.strategyId, scope.strategyId),
    isNull(trades.deletedAt),
  ) as SQL;
}

/** YYYY-MM-DD of a UTC instant. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** The rows of a raw `execute` (mysql2 answers [rows, fields]). */
export async function rowsOf<T>(result: Promise<unknown>): Promise<T[]> {
  const [rows] = (await result) as [T[], unknown];
  return rows;
}
