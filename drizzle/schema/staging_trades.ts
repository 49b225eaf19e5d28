import { foreignKey, index, mysqlEnum, mysqlTable, varchar } from 'drizzle-orm/mysql-core';
import { ORDER_TYPES, SIGNAL_ACTIONS, STAGING_STATUSES, TIMES_IN_FORCE } from '#shared/enums.ts';
import { id, json, money, ref, timestamps, utc } from './_columns.ts';
import { strategies } from './strategies.ts';
import { webhookLogs } from './webhook_logs.ts';

/**
 * Signals of manual-mode strategies waiting for the trader's decision. Both foreign keys RESTRICT: a staged
 * signal and its decision are trading history (they are audited), so they block hard deletes of the strategy
 * and the log. `decided_by` is a user id without a foreign key, like other attribution columns.
 */
export const stagingTrades = mysqlTable(
  'staging_trades',
  {
    id: id(),
    strategyId: ref('strategy_id').notNull(),
    webhookLogId: ref('webhook_log_id').notNull(),
    symbol: varchar('symbol', { length: 64 }).notNull(),
    action: mysqlEnum('action', SIGNAL_ACTIONS).notNull(),
    quantity: money('quantity'),
    orderType: mysqlEnum('order_type', ORDER_TYPES).notNull().default('market'),
    tif: mysqlEnum('tif', TIMES_IN_FORCE).notNull().default('day'),
    limitPrice: money('limit_price'),
    stopPrice: money('stop_price'),
    takeProfitPrice: money('take_profit_price'),
    stopLossPrice: money('stop_loss_price'),
    // The full normalized Signal, so approval executes exactly what was staged.
    signal: json<Record<string, unknown>>('signal').notNull(),
    status: mysqlEnum('status', STAGING_STATUSES).notNull().default('pending'),
    expiresAt: utc('expires_at').notNull(),
    decidedBy: ref('decided_by'),
    decidedAt: utc('decided_at'),
    decisionReason: varchar('decision_reason', { length: 500 }),
    ...timestamps(),
  },
  (t) => [
    foreignKey({
      name: 'staging_trades_strategy_id_fk',
      columns: [t.strategyId],
      foreignColumns: [strategies.id],
    }).onDelete('restrict'),
    foreignKey({
      name: 'staging_trades_webhook_log_id_fk',
      columns: [t.webhookLogId],
      foreignColumns: [webhookLogs.id],
    }).onDelete('restrict'),
    // webhooks.getStaged: a strategy's pending signals newest first (also serves the strategy_id FK).
    index('staging_trades_strategy_id_status_created_at_idx').on(t.strategyId, t.status, t.createdAt),
    // Expiry job: pending rows whose expires_at has passed.
    index('staging_trades_status_expires_at_idx').on(t.status, t.expiresAt),
    index('staging_trades_webhook_log_id_idx').on(t.webhookLogId),
  ],
);
