/**
 * The vocabulary of every enumerated database column, shared by the schema (mysqlEnum), the zod schemas and the
 * React app. Browser-safe: no Node built-ins, no Drizzle. Appending a value is a migration; reordering is not
 * (MySQL ENUMs are stored by index, so order changes rewrite the column).
 */

export const USER_ROLES = ['user', 'admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const BROKERS = ['alpaca', 'tradovate', 'ibkr'] as const;
export type Broker = (typeof BROKERS)[number];

export const BROKER_ENVIRONMENTS = ['paper', 'live'] as const;
export type BrokerEnvironment = (typeof BROKER_ENVIRONMENTS)[number];

export const CONNECTION_STATUSES = ['unknown', 'connected', 'error', 'expired', 'disconnected'] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

export const EXECUTION_MODES = ['auto', 'manual'] as const;
export type ExecutionMode = (typeof EXECUTION_MODES)[number];

export const SIZING_TYPES = [
  'fixed_quantity',
  'dollar_amount',
  'risk_dollar_amount',
  'percent_of_equity',
  'percent_of_position',
] as const;
export type SizingType = (typeof SIZING_TYPES)[number];

export const WEBHOOK_SOURCES = ['tradingview', 'simulation', 'replay'] as const;
export type WebhookSource = (typeof WEBHOOK_SOURCES)[number];

/**
 * received → (duplicate | rejected | executing | staged | ignored); executing → (executed | failed).
 * The outbox sweep looks for rows still `received`.
 */
export const WEBHOOK_LOG_STATUSES = [
  'received',
  'duplicate',
  'rejected',
  'executing',
  'executed',
  'staged',
  'ignored',
  'failed',
] as const;
export type WebhookLogStatus = (typeof WEBHOOK_LOG_STATUSES)[number];

/** What an alert asks for (TRADINGVIEW aliases such as long/short are normalized to these). */
export const SIGNAL_ACTIONS = ['buy', 'sell', 'exit', 'cancel', 'add'] as const;
export type SignalAction = (typeof SIGNAL_ACTIONS)[number];

export const STAGING_STATUSES = ['pending', 'approved', 'rejected', 'expired', 'executed'] as const;
export type StagingStatus = (typeof STAGING_STATUSES)[number];

export const ORDER_SIDES = ['buy', 'sell'] as const;
export type OrderSide = (typeof ORDER_SIDES)[number];

/** `bracket_exit`: a take-profit or stop-loss leg the broker created under an entry (tracked, never sent by us). */
export const ORDER_INTENTS = [
  'open',
  'close',
  'reverse_close',
  'reverse_open',
  'add',
  'reduce',
  'bracket_exit',
] as const;
export type OrderIntent = (typeof ORDER_INTENTS)[number];

export const ORDER_TYPES = ['market', 'limit', 'stop', 'stop_limit'] as const;
export type OrderType = (typeof ORDER_TYPES)[number];

export const TIMES_IN_FORCE = ['day', 'gtc', 'ioc', 'fok', 'opg', 'cls'] as const;
export type TimeInForce = (typeof TIMES_IN_FORCE)[number];

/**
 * The common broker vocabulary (BROKERS.md §4) plus two local states: `submitting` (a submit job has claimed the
 * order and may have reached the broker, so a retry must look it up by client order id before sending again) and
 * `failed` (retries exhausted without a broker answer; the order went to dead letters).
 */
export const ORDER_STATUSES = [
  'pending',
  'submitting',
  'submitted',
  'accepted',
  'partially_filled',
  'filled',
  'cancelled',
  'rejected',
  'expired',
  'failed',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Statuses after which the broker will never change the order again. */
export const TERMINAL_ORDER_STATUSES = [
  'filled',
  'cancelled',
  'rejected',
  'expired',
  'failed',
] as const satisfies readonly OrderStatus[];

export const POSITION_SIDES = ['long', 'short'] as const;
export type PositionSide = (typeof POSITION_SIDES)[number];

export const TRADE_STATUSES = ['open', 'closed'] as const;
export type TradeStatus = (typeof TRADE_STATUSES)[number];

export const NOTIFICATION_SEVERITIES = ['info', 'warning', 'error', 'success'] as const;
export type NotificationSeverity = (typeof NOTIFICATION_SEVERITIES)[number];

export const CHANNEL_KINDS = ['discord', 'slack', 'telegram', 'webhook'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

export const DEAD_LETTER_STATUSES = ['open', 'replayed', 'discarded'] as const;
export type DeadLetterStatus = (typeof DEAD_LETTER_STATUSES)[number];

export const AUDIT_ACTOR_TYPES = ['user', 'admin', 'system', 'webhook'] as const;
export type AuditActorType = (typeof AUDIT_ACTOR_TYPES)[number];

export const RECONCILIATION_STATUSES = ['ok', 'mismatch', 'error'] as const;
export type ReconciliationStatus = (typeof RECONCILIATION_STATUSES)[number];

export const ASSET_CLASSES = ['future', 'equity', 'option', 'crypto', 'forex'] as const;
export type AssetClass = (typeof ASSET_CLASSES)[number];

/**
 * What a notification is about. Channels subscribe to a subset (NULL = all); not a database ENUM (notifications.type
 * is a varchar), so adding one needs no migration.
 */
export const NOTIFICATION_TYPES = [
  'order.filled',
  'order.partially_filled',
  'order.rejected',
  'order.failed',
  'signal.rejected',
  'signal.staged',
  'broker.session_expired',
  'broker.session_restored',
  'reconciliation.mismatch',
  'dead_letter.created',
  'channel.failing',
  'signal.ignored',
  'staging.pending',
  'staging.expired',
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];
