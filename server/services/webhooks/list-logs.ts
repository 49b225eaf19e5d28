import { and, desc, eq, gte, lt } from 'drizzle-orm';
import { strategies } from '#drizzle/schema/strategies.ts';
import { webhookLogs } from '#drizzle/schema/webhook_logs.ts';
import type { Page } from '#shared/pagination.ts';
import type { GetWebhookLogsInput, WebhookLogSummary } from '#shared/schemas/webhooks.ts';
import type { ServiceContext } from '../context.ts';
import { afterCursor, toPage } from '../pagination.ts';
import { logStrategyJoin, logSummaryColumns, ownedLogs } from './log-view.ts';

/**
 * webhooks.getLogs: the caller's logs, newest first, in one query joined to their strategies (the name comes with
 * each row, no lookup per row). `from`/`to` bound created_at, the moment the row was written, which the
 * (strategy_id, created_at) index serves; received_at precedes it by the request's processing time only.
 * A strategyId that is not the caller's simply matches nothing.
 */
export async function listWebhookLogs(
  ctx: ServiceContext,
  input: GetWebhookLogsInput,
): Promise<Page<WebhookLogSummary>> {
  const rows = await ctx.db
    .select(logSummaryColumns)
    .from(webhookLogs)
    .innerJoin(strategies, logStrategyJoin)
    .where(
      and(
        ownedLogs(ctx),
        input.strategyId === undefined ? undefined : eq(webhookLogs.strategyId, input.strategyId),
        input.status === undefined ? undefined : eq(webhookLogs.status, input.status),
        input.from === undefined ? undefined : gte(webhookLogs.createdAt, input.from),
        input.to === undefined ? undefined : lt(webhookLogs.createdAt, input.to),
        afterCursor(webhookLogs.id, input),
      ),
    )
    .orderBy(desc(webhookLogs.id))
    .limit(input.limit + 1);
  return toPage(rows, input);
}
