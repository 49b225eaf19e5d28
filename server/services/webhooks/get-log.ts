import { and, asc, between, eq, sql } from 'drizzle-orm';
import { auditLogs } from '#drizzle/schema/audit_logs.ts';
import { strategies } from '#drizzle/schema/strategies.ts';
import { webhookLogs } from '#drizzle/schema/webhook_logs.ts';
import type { WebhookLogDetail, WebhookLogHistoryEntry } from '#shared/schemas/webhooks.ts';
import { scrubSecrets } from '../../lib/scrub.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { NotFound } from '../errors.ts';
import {
  logStrategyJoin,
  logSummaryColumns,
  ownedLogs,
  REPLAY_AUDIT_ACTION,
  REPLAY_AUDIT_WINDOW_MS,
  replayLogIdOf,
} from './log-view.ts';
import { redactBody } from './redact-body.ts';

/**
 * webhooks.getLog: one of the caller's logs in full. The raw body is shown with its secrets masked (redact-body.ts);
 * the token is never stored in a log, and the strategy's secrets are never selected. The status history is built
 * from what is stored (see webhookLogHistoryEntry): no table records every transition of a log, so it holds its
 * receipt, its current status and the replays linking it to other logs, from the `webhook_log.replay` audit rows.
 */
export async function getWebhookLog(ctx: ServiceContext, id: number): Promise<WebhookLogDetail> {
  const [log] = await ctx.db
    .select({
      ...logSummaryColumns,
      tradeId: webhookLogs.tradeId,
      sourceIp: webhookLogs.sourceIp,
      contentType: webhookLogs.contentType,
      rawBody: webhookLogs.rawBody,
      payload: webhookLogs.payload,
      requestId: webhookLogs.requestId,
      createdAt: webhookLogs.createdAt,
      updatedAt: webhookLogs.updatedAt,
    })
    .from(webhookLogs)
    .innerJoin(strategies, logStrategyJoin)
    .where(and(eq(webhookLogs.id, id), ownedLogs(ctx)))
    .limit(1);
  if (!log) throw new NotFound('Webhook log');

  const replayOf = log.source === 'replay' ? await originalOf(ctx, log.id, log.createdAt) : null;
  const history: WebhookLogHistoryEntry[] = [
    { at: log.receivedAt, event: 'received', status: 'received', logId: null },
  ];
  if (replayOf !== null) history.push({ at: log.receivedAt, event: 'replay-of', status: null, logId: replayOf });
  if (log.status !== 'received') {
    // updated_at is the database's clock, received_at the api's: never show the change before the receipt.
    const at = new Date(Math.max(log.updatedAt.getTime(), log.receivedAt.getTime()));
    history.push({ at, event: 'status', status: log.status, logId: log.duplicateOf });
  }
  for (const replay of await replaysOf(ctx, log.id)) {
    history.push({ at: replay.at, event: 'replayed', status: null, logId: replay.logId });
  }
  history.sort((a, b) => a.at.getTime() - b.at.getTime());

  return {
    ...log,
    rawBody: log.rawBody === null ? null : redactBody(log.rawBody),
    // A Signal holds no secret field; scrubbed anyway so a future field cannot leak through here.
    payload: log.payload ? (scrubSecrets(log.payload) as Record<string, unknown>) : null,
    replayOf,
    history,
  };
}

/** The replays made of log `id`: its `webhook_log.replay` audit rows, by the resource index. */
async function replaysOf(ctx: ServiceContext, id: number): Promise<Array<{ at: Date; logId: number | null }>> {
  const rows = await ctx.db
    .select({ at: auditLogs.createdAt, newValue: auditLogs.newValue })
    .from(auditLogs)
    .where(
      and(
        eq(auditLogs.resourceType, 'webhook_log'),
        eq(auditLogs.resourceId, String(id)),
        eq(auditLogs.action, REPLAY_AUDIT_ACTION),
      ),
    )
    .orderBy(asc(auditLogs.createdAt))
    .limit(100);
  return rows.map((row) => ({ at: row.at, logId: replayLogIdOf(row.newValue) }));
}

/**
 * The log a replay log replays. The audit row of a replay is written by the caller right after its replay log, so
 * it is found through (user_id, created_at) in a short window around the log, then by the replay id it names.
 */
async function originalOf(ctx: ServiceContext, id: number, createdAt: Date): Promise<number | null> {
  const [row] = await ctx.db
    .select({ resourceId: auditLogs.resourceId })
    .from(auditLogs)
    .where(
      and(
        eq(auditLogs.userId, actingUserId(ctx)),
        between(
          auditLogs.createdAt,
          new Date(createdAt.getTime() - REPLAY_AUDIT_WINDOW_MS),
          new Date(createdAt.getTime() + REPLAY_AUDIT_WINDOW_MS),
        ),
        eq(auditLogs.action, REPLAY_AUDIT_ACTION),
        eq(sql`json_unquote(json_extract(${auditLogs.newValue}, '$.replayLogId'))`, String(id)),
      ),
    )
    .limit(1);
  const original = Number(row?.resourceId);
  return Number.isSafeInteger(original) && original > 0 ? original : null;
}
