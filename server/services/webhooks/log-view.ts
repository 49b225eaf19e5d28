/**
 * What a webhook-log read may load, and whose logs it may see. A log has no user column: it belongs to the user of
 * its strategy, so every read joins strategies and scopes on strategies.user_id in the same query. Logs of a
 * soft-deleted strategy are gone with it (like the strategy, they no longer appear), and deleted logs never do.
 */
import { and, eq, type SQL, sql } from 'drizzle-orm';
import { strategies } from '#drizzle/schema/strategies.ts';
import { webhookLogs } from '#drizzle/schema/webhook_logs.ts';
import { SIGNAL_ACTIONS, type SignalAction } from '#shared/enums.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import { actingUserId, type ServiceContext } from '../context.ts';

/** The caller's live logs of live strategies; use with `innerJoin(strategies, logStrategyJoin)`. */
export function ownedLogs(ctx: ServiceContext): SQL | undefined {
  return and(eq(strategies.userId, actingUserId(ctx)), notDeleted(strategies), notDeleted(webhookLogs));
}

export const logStrategyJoin = eq(strategies.id, webhookLogs.strategyId);

/** The columns of a log list row. The ticker and action are read from the stored signal in SQL, not shipped whole. */
export const logSummaryColumns = {
  id: webhookLogs.id,
  strategyId: webhookLogs.strategyId,
  strategyName: strategies.name,
  source: webhookLogs.source,
  status: webhookLogs.status,
  errorCode: webhookLogs.errorCode,
  errorMessage: webhookLogs.errorMessage,
  receivedAt: webhookLogs.receivedAt,
  processingMs: webhookLogs.processingMs,
  duplicateOf: webhookLogs.duplicateOf,
  ticker: sql<string | null>`json_unquote(json_extract(${webhookLogs.payload}, '$.ticker'))`,
  action: sql<SignalAction | null>`json_unquote(json_extract(${webhookLogs.payload}, '$.action'))`.mapWith(toAction),
};

function toAction(value: unknown): SignalAction | null {
  return SIGNAL_ACTIONS.find((action) => action === value) ?? null;
}

/**
 * A replay is audited on the log it replays (resource `webhook_log`, that log's id) with `newValue.replayLogId`,
 * the new log. Written just after the new log, so the replay log finds its audit row within this window.
 */
export const REPLAY_AUDIT_ACTION = 'webhook_log.replay';
export const REPLAY_AUDIT_WINDOW_MS = 60_000;

export function replayLogIdOf(newValue: Record<string, unknown> | null): number | null {
  const id = newValue?.replayLogId;
  return typeof id === 'number' && Number.isSafeInteger(id) ? id : null;
}
