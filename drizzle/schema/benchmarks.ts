import { date, mysqlTable, uniqueIndex, varchar } from 'drizzle-orm/mysql-core';
import { id, money, timestamps } from './_columns.ts';

/** Daily closes of benchmark symbols (e.g. SPY) for the portfolio comparison. No foreign keys: reference data. */
export const benchmarks = mysqlTable(
  'benchmarks',
  {
    id: id(),
    symbol: varchar('symbol', { length: 32 }).notNull(),
    // A trading day, not an instant: string mode avoids any time-zone shift.
    date: date('date', { mode: 'string' }).notNull(),
    close: money('close').notNull(),
    ...timestamps(),
  },
  (t) => [
    // Equity-curve comparison: a symbol's closes over a date range; one close per day.
    uniqueIndex('benchmarks_symbol_date_uq').on(t.symbol, t.date),
  ],
);
