import { foreignKey, index, int, mysqlEnum, mysqlTable, uniqueIndex, varchar } from 'drizzle-orm/mysql-core';
import { ORDER_INTENTS, ORDER_SIDES, ORDER_STATUSES, ORDER_TYPES, TIMES_IN_FORCE } from '#shared/enums.ts';
import { id, money, ref, timestamps, utc } from './_columns.ts';
import { brokerConnections } from './broker_connections.ts';
import { strategies } from './strategies.ts';
import { trades } from './trades.ts';
import { users } from './users.ts';
import { webhookLogs } from './webhook_logs.ts';

/**
 * Orders are never deleted, so every parent RESTRICTs (user, strategy, connection, log, parent order): an order
 * pins its whole provenance. The one exception is trade_id SET NULL, because trades are derived from fills and
 * may be rebuilt.
 */
export const brokerOrders = mysqlTable(
  'broker_orders',
  {
    id: id(),
    userId: ref('user_id').notNull(),
    strategyId: ref('strategy_id').notNull(),
    brokerConnectionId: ref('broker_connection_id').notNull(),
    webhookLogId: ref('webhook_log_id'),
    tradeId: ref('trade_id'),
    // The closing leg of a reversal is the parent of its opening leg.
    parentOrderId: ref('parent_order_id'),
    // `fp-<id>`, so it is written in the inserting transaction right after the id is known; nullable only for that
    // moment. Alpaca allows 128 characters.
    clientOrderId: varchar('client_order_id', { length: 128 }),
    brokerOrderId: varchar('broker_order_id', { length: 64 }),
    symbol: varchar('symbol', { length: 64 }).notNull(),
    brokerSymbol: varchar('broker_symbol', { length: 64 }).notNull(),
    side: mysqlEnum('side', ORDER_SIDES).notNull(),
    intent: mysqlEnum('intent', ORDER_INTENTS).notNull(),
    orderType: mysqlEnum('order_type', ORDER_TYPES).notNull(),
    tif: mysqlEnum('tif', TIMES_IN_FORCE).notNull(),
    quantity: money('quantity').notNull(),
    limitPrice: money('limit_price'),
    stopPrice: money('stop_price'),
    takeProfitPrice: money('take_profit_price'),
    stopLossPrice: money('stop_loss_price'),
    status: mysqlEnum('status', ORDER_STATUSES).notNull().default('pending'),
    // The broker's own status word, kept for support and reconciliation diagnostics.
    brokerStatus: varchar('broker_status', { length: 32 }),
    filledQty: money('filled_qty').notNull().default('0'),
    avgFillPrice: money('avg_fill_price'),
    commission: money('commission').notNull().default('0'),
    attempts: int('attempts', { unsigned: true }).notNull().default(0),
    lastError: varchar('last_error', { length: 1000 }),
    submittedAt: utc('submitted_at'),
    filledAt: utc('filled_at'),
    ...timestamps(),
  },
  (t) => [
    foreignKey({ name: 'broker_orders_user_id_fk', columns: [t.userId], foreignColumns: [users.id] }).onDelete(
      'restrict',
    ),
    foreignKey({
      name: 'broker_orders_strategy_id_fk',
      columns: [t.strategyId],
      foreignColumns: [strategies.id],
    }).onDelete('restrict'),
    foreignKey({
      name: 'broker_orders_broker_connection_id_fk',
      columns: [t.brokerConnectionId],
      foreignColumns: [brokerConnections.id],
    }).onDelete('restrict'),
    foreignKey({
      name: 'broker_orders_webhook_log_id_fk',
      columns: [t.webhookLogId],
      foreignColumns: [webhookLogs.id],
    }).onDelete('restrict'),
    foreignKey({ name: 'broker_orders_trade_id_fk', columns: [t.tradeId], foreignColumns: [trades.id] }).onDelete(
      'set null',
    ),
    foreignKey({
      name: 'broker_orders_parent_order_id_fk',
      columns: [t.parentOrderId],
      foreignColumns: [t.id],
    }).onDelete('restrict'),
    uniqueIndex('broker_orders_client_order_id_uq').on(t.clientOrderId),
    // Broker events and reconciliation: broker order id → local order; one local order per broker order.
    uniqueIndex('broker_orders_broker_connection_id_broker_order_id_uq').on(t.brokerConnectionId, t.brokerOrderId),
    // Order-status polling and reconciliation: a connection's non-terminal orders, stalest first.
    index('broker_orders_broker_connection_id_status_updated_at_idx').on(t.brokerConnectionId, t.status, t.updatedAt),
    // The order outbox sweep and reconciliation: orders in a status (pending, working) by age, across connections.
    index('broker_orders_status_updated_at_idx').on(t.status, t.updatedAt),
    // Signal execution and cancel: a strategy's working orders for a symbol.
    index('broker_orders_strategy_id_symbol_status_created_at_idx').on(t.strategyId, t.symbol, t.status, t.createdAt),
    // brokers.getOrders: a user's orders newest first (also serves the user_id FK).
    index('broker_orders_user_id_created_at_idx').on(t.userId, t.createdAt),
    index('broker_orders_webhook_log_id_idx').on(t.webhookLogId),
    index('broker_orders_trade_id_idx').on(t.tradeId),
    index('broker_orders_parent_order_id_idx').on(t.parentOrderId),
  ],
);
