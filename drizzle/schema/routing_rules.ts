import { boolean, foreignKey, index, int, mysqlTable, uniqueIndex } from 'drizzle-orm/mysql-core';
import { id, json, money, ref, softDelete, timestamps } from './_columns.ts';
import { brokerConnections } from './broker_connections.ts';
import { strategies } from './strategies.ts';
import { users } from './users.ts';

/** TradingView symbol → broker symbol, e.g. `{"MNQ1!": "MNQZ5"}`. */
export type SymbolMap = Record<string, string>;

/**
 * Which broker connections a strategy's signals go to. All foreign keys CASCADE: a rule is pure configuration
 * with no history of its own (orders record what was routed), so it goes with its strategy or connection. Those
 * parents RESTRICT on anything with history, so the cascade only ever removes unused wiring.
 */
export const routingRules = mysqlTable(
  'routing_rules',
  {
    id: id(),
    userId: ref('user_id').notNull(),
    strategyId: ref('strategy_id').notNull(),
    brokerConnectionId: ref('broker_connection_id').notNull(),
    quantityMultiplier: money('quantity_multiplier').notNull().default('1'),
    symbolMap: json<SymbolMap>('symbol_map'),
    // Lower runs first when one signal fans out to several connections.
    priority: int('priority').notNull().default(0),
    isActive: boolean('is_active').notNull().default(true),
    ...timestamps(),
    ...softDelete(),
  },
  (t) => [
    foreignKey({ name: 'routing_rules_user_id_fk', columns: [t.userId], foreignColumns: [users.id] }).onDelete(
      'cascade',
    ),
    foreignKey({
      name: 'routing_rules_strategy_id_fk',
      columns: [t.strategyId],
      foreignColumns: [strategies.id],
    }).onDelete('cascade'),
    foreignKey({
      name: 'routing_rules_broker_connection_id_fk',
      columns: [t.brokerConnectionId],
      foreignColumns: [brokerConnections.id],
    }).onDelete('cascade'),
    // Signal execution: the live rules of a strategy; one live rule per (strategy, connection).
    uniqueIndex('routing_rules_strategy_id_broker_connection_id_live_uq').on(
      t.strategyId,
      t.brokerConnectionId,
      t.live,
    ),
    index('routing_rules_user_id_idx').on(t.userId),
    index('routing_rules_broker_connection_id_idx').on(t.brokerConnectionId),
  ],
);
