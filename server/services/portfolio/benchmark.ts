/**
 * The benchmark's return over the period's days, from its daily closes (benchmarks_symbol_date_uq serves each
 * lookup): the start is the last close on or before the first day (else the first close inside the period), the end
 * the last close on or before the last day. Null when the closes do not span two different days of the period.
 */
import { and, asc, desc, eq, gte, lte } from 'drizzle-orm';
import { benchmarks } from '#drizzle/schema/benchmarks.ts';
import type { BenchmarkComparison } from '#shared/schemas/portfolio.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import { Dec, RATIO_SCALE, roundTo, shortest } from './decimals.ts';
import type { Period } from './risk.ts';

const closeColumns = { date: benchmarks.date, close: benchmarks.close };

export function closeOnOrBeforeQuery(db: DbOrTx, symbol: string, day: string) {
  return db
    .select(closeColumns)
    .from(benchmarks)
    .where(and(eq(benchmarks.symbol, symbol), lte(benchmarks.date, day)))
    .orderBy(desc(benchmarks.date))
    .limit(1);
}

export function firstCloseFromQuery(db: DbOrTx, symbol: string, day: string) {
  return db
    .select(closeColumns)
    .from(benchmarks)
    .where(and(eq(benchmarks.symbol, symbol), gte(benchmarks.date, day)))
    .orderBy(asc(benchmarks.date))
    .limit(1);
}

export async function benchmarkReturn(db: DbOrTx, symbol: string, period: Period): Promise<BenchmarkComparison | null> {
  const { firstDay, lastDay } = period;
  if (firstDay === null || lastDay === null) return null;
  const [[before], [after], [end]] = await Promise.all([
    closeOnOrBeforeQuery(db, symbol, firstDay),
    firstCloseFromQuery(db, symbol, firstDay),
    closeOnOrBeforeQuery(db, symbol, lastDay),
  ]);
  const start = before ?? (after && after.date <= lastDay ? after : undefined);
  if (!start || !end || end.date <= start.date || new Dec(start.close).eq(0)) return null;
  return {
    symbol,
    startDate: start.date,
    startClose: shortest(start.close),
    endDate: end.date,
    endClose: shortest(end.close),
    returnPercent: roundTo(new Dec(end.close).minus(start.close).times(100).div(start.close), RATIO_SCALE),
  };
}
