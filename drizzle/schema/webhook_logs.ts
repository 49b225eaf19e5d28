import {
  foreignKey,
  index,
  int,
  mediumtext,
  mysqlEnum,
  mysqlTable,
  uniqueIndex,
  varchar,
} from 'drizzle-orm/mysql-core';
import { WEBHOOK_LOG_STATUSES, WEBHOOK_SOURCES } from '#shared/enums.ts';
import { id, json, ref, softDelete, timestamps, utc } from './_columns.ts';
import { strategies } from './strategies.ts';
import { trades } from './trades.ts';

/**
 * Every alert received for a valid token, including rejected and duplicate ones.
 * strategy_id RESTRICT: logs are the trader's record of what TradingView sent; they block a hard delete of their
 * strategy. trade_id SET NULL: trades are derived from fills and may be rebuilt, so the pointer may go away
 * while the log stays. duplicate_of is informational and has no foreign key (no self-referencing cascades).
 */
export const webhookLogs = mysqlTable(
  'webhook_logs',
  {
    id: id(),
    strategyId: ref('strategy_id').notNull(),
    tradeId: ref('trade_id'),
    source: mysqlEnum('source', WEBHOOK_SOURCES).notNull().default('tradingview'),
    receivedAt: utc('received_at').notNull(),
    sourceIp: varchar('source_ip', { length: 45 }),
    contentType: varchar('content_type', { length: 255 }),
    // Bodies are capped at 64 KiB before they get here; TEXT holds 64 KiB minus one byte, so MEDIUMTEXT. NULL once
    // the maintenance job pruned it (older than WEBHOOK_RAW_RETENTION_DAYS); the normalized payload stays.
    rawBody: mediumtext('raw_body'),
    // The normalized Signal (shared zod schema); NULL when the body could not be parsed.
    payload: json<Record<string, unknown>>('payload'),
    dedupKey: varchar('dedup_key', { length: 255 }),
    duplicateOf: ref('duplicate_of'),
    status: mysqlEnum('status', WEBHOOK_LOG_STATUSES).notNull().default('received'),
    errorCode: varchar('error_code', { length: 64 }),
    errorMessage: varchar('error_message', { length: 1000 }),
    requestId: varchar('request_id', { length: 64 }),
    processingMs: int('processing_ms', { unsigned: true }),
    ...timestamps(),
    ...softDelete(),
  },
  (t) => [
    foreignKey({
      name: 'webhook_logs_strategy_id_fk',
      columns: [t.strategyId],
      foreignColumns: [strategies.id],
    }).onDelete('restrict'),
    foreignKey({ name: 'webhook_logs_trade_id_fk', columns: [t.tradeId], foreignColumns: [trades.id] }).onDelete(
      'set null',
    ),
    // webhooks.getLogs: a strategy's logs newest first (also serves the strategy_id FK).
    index('webhook_logs_strategy_id_created_at_idx').on(t.strategyId, t.createdAt),
    // Outbox sweep: rows still `received` older than 30 s.
    index('webhook_logs_status_created_at_idx').on(t.status, t.createdAt),
    // Ingestion dedup: an idempotency key is unique per strategy forever, so no `live` (a deleted log still counts).
    uniqueIndex('webhook_logs_strategy_id_dedup_key_uq').on(t.strategyId, t.dedupKey),
    index('webhook_logs_trade_id_idx').on(t.tradeId),
  ],
);
