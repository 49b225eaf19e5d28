import { foreignKey, index, mysqlEnum, mysqlTable, uniqueIndex, varchar } from 'drizzle-orm/mysql-core';
import { POSITION_SIDES } from '#shared/enums.ts';
import { id, money, ref, timestamps, utc } from './_columns.ts';
import { brokerConnections } from './broker_connections.ts';
import { strategies } from './strategies.ts';

/**
 * The current position per (strategy, connection, symbol), maintained from fills. Both foreign keys RESTRICT: an
 * open position is real exposure at a broker and must never disappear as a side effect of another delete.
 * Rows persist through flat: a closed position is quantity 0 (avg 0, side keeps its last value), so fill
 * processing always has this row to lock, which serializes the fills of one key; readers filter `quantity <> 0`.
 */
export const openPositions = mysqlTable(
  'open_positions',
  {
    id: id(),
    strategyId: ref('strategy_id').notNull(),
    brokerConnectionId: ref('broker_connection_id').notNull(),
    // The broker symbol the fills were reported in.
    symbol: varchar('symbol', { length: 64 }).notNull(),
    side: mysqlEnum('side', POSITION_SIDES).notNull(),
    // Never negative (0 when flat); `side` carries the sign.
    quantity: money('quantity').notNull(),
    avgEntryPrice: money('avg_entry_price').notNull(),
    openedAt: utc('opened_at').notNull(),
    ...timestamps(),
  },
  (t) => [
    foreignKey({
      name: 'open_positions_strategy_id_fk',
      columns: [t.strategyId],
      foreignColumns: [strategies.id],
    }).onDelete('restrict'),
    foreignKey({
      name: 'open_positions_broker_connection_id_fk',
      columns: [t.brokerConnectionId],
      foreignColumns: [brokerConnections.id],
    }).onDelete('restrict'),
    // Signal execution and fill processing: the one position row to lock and update (serves the strategy FK).
    uniqueIndex('open_positions_strategy_id_broker_connection_id_symbol_uq').on(
      t.strategyId,
      t.brokerConnectionId,
      t.symbol,
    ),
    // Reconciliation: sum of local positions per symbol for one connection.
    index('open_positions_broker_connection_id_symbol_idx').on(t.brokerConnectionId, t.symbol),
  ],
);
