import { foreignKey, index, mysqlEnum, mysqlTable, varchar } from 'drizzle-orm/mysql-core';
import { POSITION_SIDES, TRADE_STATUSES } from '#shared/enums.ts';
import { id, money, ref, softDelete, timestamps, utc } from './_columns.ts';
import { brokerConnections } from './broker_connections.ts';
import { strategies } from './strategies.ts';
import { users } from './users.ts';

/**
 * Round trips derived from fills: opened when a position leaves flat, closed when it returns to flat.
 * All foreign keys RESTRICT: trades are P&L history, so they block hard deletes of their user, strategy and
 * connection. `user_id` duplicates strategies.user_id on purpose so portfolio aggregates and ownership checks
 * need no join.
 */
export const trades = mysqlTable(
  'trades',
  {
    id: id(),
    userId: ref('user_id').notNull(),
    strategyId: ref('strategy_id').notNull(),
    brokerConnectionId: ref('broker_connection_id').notNull(),
    symbol: varchar('symbol', { length: 64 }).notNull(),
    side: mysqlEnum('side', POSITION_SIDES).notNull(),
    quantity: money('quantity').notNull(),
    entryPrice: money('entry_price').notNull(),
    exitPrice: money('exit_price'),
    entryDate: utc('entry_date').notNull(),
    exitDate: utc('exit_date'),
    // Realized, net of fees, in the account currency (multiplier applied).
    pnl: money('pnl'),
    pnlPercent: money('pnl_percent'),
    fees: money('fees').notNull().default('0'),
    status: mysqlEnum('status', TRADE_STATUSES).notNull().default('open'),
    ...timestamps(),
    ...softDelete(),
  },
  (t) => [
    foreignKey({ name: 'trades_user_id_fk', columns: [t.userId], foreignColumns: [users.id] }).onDelete('restrict'),
    foreignKey({ name: 'trades_strategy_id_fk', columns: [t.strategyId], foreignColumns: [strategies.id] }).onDelete(
      'restrict',
    ),
    foreignKey({
      name: 'trades_broker_connection_id_fk',
      columns: [t.brokerConnectionId],
      foreignColumns: [brokerConnections.id],
    }).onDelete('restrict'),
    // portfolio.getStrategyDetail / getTrades: a strategy's trades in a date range.
    index('trades_strategy_id_entry_date_exit_date_idx').on(t.strategyId, t.entryDate, t.exitDate),
    // Fill processing: the open trade of a strategy; per-strategy win/loss aggregates by status.
    index('trades_strategy_id_status_idx').on(t.strategyId, t.status),
    // portfolio.getOverview / getStrategyDetail / getEquityCurve: a user's closed trades in exit order, without
    // joining strategies. The trailing columns are everything the figures read, so their sums never touch the rows.
    index('trades_user_id_status_exit_date_cover_idx').on(
      t.userId,
      t.status,
      t.exitDate,
      t.strategyId,
      t.pnl,
      t.fees,
      t.deletedAt,
    ),
    index('trades_broker_connection_id_idx').on(t.brokerConnectionId),
    // portfolio.getTrades: a user's trades newest entry first (the primary key InnoDB appends breaks ties).
    index('trades_user_id_entry_date_idx').on(t.userId, t.entryDate),
  ],
);
