import { and, eq, inArray, notInArray } from 'drizzle-orm';
import { auditLogs } from '#drizzle/schema/audit_logs.ts';
import { strategies } from '#drizzle/schema/strategies.ts';
import { webhookLogs } from '#drizzle/schema/webhook_logs.ts';
import type { WebhookLogStatus } from '#shared/enums.ts';
import type { ReplayAnswer } from '#shared/schemas/webhooks.ts';
import { emitAudit } from '../../audit/emit.ts';
import { type Transaction, withTransaction } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { NotFound, Precondition } from '../errors.ts';
import { type IngestSources, ingestAlert, webhookIngestDeps } from './ingest.ts';
import { logStrategyJoin, ownedLogs, REPLAY_AUDIT_ACTION, replayLogIdOf } from './log-view.ts';
import { ingestAnswerOf } from './simulate.ts';

/** Only alerts that never ran can be run again: anything else already did what it was going to do. */
const REPLAYABLE: readonly WebhookLogStatus[] = ['failed', 'rejected'];

/**
 * webhooks.replay: runs a failed or rejected log's raw body through the pipeline again as a NEW log (source
 * `replay`); the original is left as it was. Ingestion skips deduplication and the staleness check for a replay
 * (ingest.ts), so the original's idempotency key or body does not refuse it; the strategy's current state (paused,
 * trading switched off) still does, as a rejected replay log.
 *
 * One transaction holds the original's row lock, the new log and the `webhook_log.replay` audit row on the original
 * (newValue.replayLogId names the new log, which is how both logs' histories link them), so a replay that cannot be
 * audited leaves nothing behind. The signal job is enqueued after the commit (the worker must find the row); if
 * Redis is down, the outbox sweep enqueues the log later, as for any alert.
 *
 * While an earlier replay of the same log is pending or ran (not itself failed or rejected), the log cannot be
 * replayed again: a double click must not trade twice. The row lock makes that check race-free.
 */
export async function replayWebhookLog(ctx: ServiceContext, sources: IngestSources, id: number): Promise<ReplayAnswer> {
  const accepted: number[] = [];
  const deps = {
    ...webhookIngestDeps(sources, ctx.log),
    enqueueSignal: async (webhookLogId: number) => {
      accepted.push(webhookLogId);
    },
  };
  const answer = await withTransaction(ctx, async (tx) => {
    const [original] = await tx
      .select({
        id: webhookLogs.id,
        strategyId: webhookLogs.strategyId,
        status: webhookLogs.status,
        errorCode: webhookLogs.errorCode,
        rawBody: webhookLogs.rawBody,
        contentType: webhookLogs.contentType,
      })
      .from(webhookLogs)
      .innerJoin(strategies, logStrategyJoin)
      .where(and(eq(webhookLogs.id, id), ownedLogs(ctx)))
      .for('update');
    if (!original) throw new NotFound('Webhook log');
    if (!REPLAYABLE.includes(original.status)) {
      throw new Precondition(`Only failed or rejected logs can be replayed; this log is ${original.status}`);
    }
    // A replay skips the passphrase check (the owner asks for it), so an alert that failed that check, which may
    // come from anyone who learned the URL, must not get through this way.
    if (original.errorCode === 'invalid-passphrase') {
      throw new Precondition(
        'This alert was refused for its passphrase, so nothing shows it came from your TradingView alert: it cannot be replayed',
      );
    }
    // Bodies older than WEBHOOK_RAW_RETENTION_DAYS are pruned (services/maintenance/prune-webhook-bodies.ts).
    if (original.rawBody === null) {
      throw new Precondition(
        'This alert is older than the raw-body retention period: its body is gone and it cannot be replayed',
      );
    }
    const rawBody = original.rawBody;
    const earlier = await liveReplayOf(tx, original.id);
    if (earlier) {
      throw new Precondition(`This log was already replayed as log ${earlier.id}, which is ${earlier.status}`);
    }

    const result = await ingestAlert(
      { ...deps, db: tx, acceptedLogs: undefined },
      {
        lookup: { kind: 'owner', strategyId: original.strategyId, userId: actingUserId(ctx) },
        rawBody,
        contentType: original.contentType ?? undefined,
        sourceIp: ctx.ip,
        source: 'replay',
        requestId: ctx.requestId,
        log: ctx.log,
      },
    );
    const replayed = ingestAnswerOf(result);
    await emitAudit(tx, ctx, {
      action: REPLAY_AUDIT_ACTION,
      resourceType: 'webhook_log',
      resourceId: original.id,
      oldValue: { status: original.status },
      newValue: {
        replayLogId: replayed.id,
        status: replayed.status,
        errorCode: replayed.status === 'rejected' ? replayed.code : null,
      },
    });
    return { ...replayed, replayOf: original.id };
  });

  for (const webhookLogId of accepted) {
    await sources.enqueueSignal(webhookLogId).catch((err: unknown) => {
      ctx.log.warn({ err, webhookLogId }, 'replayed signal job not enqueued; the outbox sweep will enqueue it');
    });
  }
  return answer;
}

/** An earlier replay of log `id` that is neither failed nor rejected, if any. */
async function liveReplayOf(tx: Transaction, id: number): Promise<{ id: number; status: WebhookLogStatus } | null> {
  const audits = await tx
    .select({ newValue: auditLogs.newValue })
    .from(auditLogs)
    .where(
      and(
        eq(auditLogs.resourceType, 'webhook_log'),
        eq(auditLogs.resourceId, String(id)),
        eq(auditLogs.action, REPLAY_AUDIT_ACTION),
      ),
    );
  const replayIds = audits.map((audit) => replayLogIdOf(audit.newValue)).filter((value) => value !== null);
  if (replayIds.length === 0) return null;
  const [live] = await tx
    .select({ id: webhookLogs.id, status: webhookLogs.status })
    .from(webhookLogs)
    .where(and(inArray(webhookLogs.id, replayIds), notInArray(webhookLogs.status, [...REPLAYABLE])))
    .limit(1);
  return live ?? null;
}
