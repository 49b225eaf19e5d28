import type { StagedTradeView } from '#shared/schemas/webhooks.ts';
import { withTransaction } from '../../db/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { moveStagedLog, recordDecision } from './decide.ts';

export interface ApproveSources {
  /**
   * Adds the log's signal job again under approvedSignalJobId (server/jobs/enqueue.ts; injected: services do not
   * import server/jobs). Rejects when Redis is unavailable.
   */
  enqueueApprovedSignal(webhookLogId: number): Promise<unknown>;
}

/**
 * webhooks.approveStaged: in one transaction the staged signal turns `approved`, its log goes back from `staged` to
 * `received` and the decision is audited; after the commit the log's signal job is added again. The engine's next
 * run of the log finds the approval (execution/staging.ts takeApproval), consumes it and executes the signal as it
 * was staged.
 *
 * A lost add (Redis down) does not lose the approval: the `expire-staged` maintenance job re-adds the job of every
 * approval still waiting (./requeue-approved.ts). The plain outbox sweep cannot be relied on for this, since it adds
 * the log's first job id `log-<id>`, which BullMQ ignores for as long as that first job stays stored in Redis.
 */
export async function approveStaged(
  ctx: ServiceContext,
  sources: ApproveSources,
  id: number,
): Promise<StagedTradeView> {
  const approved = await withTransaction(ctx, async (tx) => {
    const staged = await recordDecision(tx, ctx, id, { status: 'approved' });
    await moveStagedLog(tx, staged.webhookLogId, { status: 'received' });
    return staged;
  });
  await sources.enqueueApprovedSignal(approved.webhookLogId).catch((err: unknown) => {
    ctx.log.warn(
      { err, stagingId: id, webhookLogId: approved.webhookLogId },
      'approved signal job not enqueued; the expire-staged job will enqueue it',
    );
  });
  return approved;
}
