/**
 * The codes an executed signal's log and orders carry (webhook_logs.error_code, broker_orders.last_error prefix):
 * why a route placed no order. Stable: the app shows them and traders search for them.
 */
export const IGNORE_REASONS = [
  'already-long',
  'already-short',
  'no-position',
  'zero-quantity',
  'short-not-allowed',
  'max-position-reached',
  'already-at-target',
  'no-routes',
  'no-working-orders',
] as const;
export type ExecutionIgnoreReason = (typeof IGNORE_REASONS)[number];

export const EXECUTION_REJECTION_CODES = [
  'missing-price',
  'missing-stop',
  'missing-equity',
  'invalid-sizing',
  'unmapped-symbol',
  'live-not-enabled',
  'broker-session-expired',
  'connection-disconnected',
  'strategy-paused',
  'trading-disabled',
  'broker-unavailable',
] as const;
export type ExecutionRejectionCode = (typeof EXECUTION_REJECTION_CODES)[number];

/**
 * Ignored outcomes a trader expects as part of normal flow (a repeated entry, an exit with nothing open): logged,
 * not notified. Every other ignored or rejected signal is worth a notification.
 */
export const QUIET_IGNORE_REASONS: readonly ExecutionIgnoreReason[] = [
  'already-long',
  'already-short',
  'no-position',
  'already-at-target',
  'no-working-orders',
];
