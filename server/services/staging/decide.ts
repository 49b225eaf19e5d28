/**
 * The trader's decision on a staged signal (SPEC §5 manual mode), shared by approve and reject. Both run in the
 * caller's transaction, with the log's move and the audit row, so a decision exists exactly when all three do.
 */
import { and, eq, gt } from 'drizzle-orm';
import { stagingTrades } from '#drizzle/schema/staging_trades.ts';
import { webhookLogs } from '#drizzle/schema/webhook_logs.ts';
import type { StagedTradeView } from '#shared/schemas/webhooks.ts';
import { emitAudit } from '../../audit/emit.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { Transaction } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { Precondition } from '../errors.ts';
import { loadOwnedStaged } from './view.ts';

export type Decision = { status: 'approved' } | { status: 'rejected'; reason: string | null };

/**
 * Moves the caller's staged signal `id` from `pending` to the decision and audits it. The UPDATE is conditional
 * (still `pending`, not expired at `now`), so of two decisions at once, or a decision and the expiry job, exactly
 * one wins; the loser gets a Precondition saying what happened instead. Another user's id is NotFound.
 */
export async function recordDecision(
  tx: Transaction,
  ctx: ServiceContext,
  id: number,
  decision: Decision,
  now = new Date(),
): Promise<StagedTradeView> {
  // Ownership never changes, so this unlocked read is enough to scope the UPDATE below by id.
  const staged = await loadOwnedStaged(tx, ctx, id);
  const decided = {
    status: decision.status,
    decidedBy: actingUserId(ctx),
    decidedAt: now,
    decisionReason: decision.status === 'rejected' ? decision.reason : null,
  };
  const [result] = await tx
    .update(stagingTrades)
    .set(decided)
    .where(and(eq(stagingTrades.id, id), eq(stagingTrades.status, 'pending'), gt(stagingTrades.expiresAt, now)));
  if (result.affectedRows !== 1) throw await whyUndecidable(tx, id, now);
  await emitAudit(tx, ctx, {
    action: decision.status === 'approved' ? 'staging_trade.approve' : 'staging_trade.reject',
    resourceType: 'staging_trade',
    resourceId: id,
    oldValue: { status: 'pending' },
    newValue: {
      status: decision.status,
      webhookLogId: staged.webhookLogId,
      ...(decided.decisionReason ? { reason: decided.decisionReason } : {}),
    },
  });
  return { ...staged, ...decided };
}

async function whyUndecidable(tx: Transaction, id: number, now: Date): Promise<Precondition> {
  // A locking read sees the row as the winning change committed it; a plain read would see this transaction's
  // snapshot, taken before that change.
  const [row] = await tx
    .select({ status: stagingTrades.status, expiresAt: stagingTrades.expiresAt })
    .from(stagingTrades)
    .where(eq(stagingTrades.id, id))
    .for('update');
  switch (row?.status) {
    case 'approved':
    case 'executed':
      return new Precondition('This staged signal was already approved');
    case 'rejected':
      return new Precondition('This staged signal was already rejected');
    default: {
      const at = row && row.expiresAt <= now ? row.expiresAt : now;
      return new Precondition(
        `This staged signal expired at ${at.toISOString()} without a decision; it can no longer be approved or rejected`,
      );
    }
  }
}

/**
 * Moves the staged signal's log on from `staged`, in the decision's transaction. A log that is no longer `staged`
 * rolls the decision back: the alert is not waiting for it.
 */
export async function moveStagedLog(
  tx: Transaction,
  webhookLogId: number,
  set: Partial<Pick<typeof webhookLogs.$inferInsert, 'status' | 'errorCode' | 'errorMessage'>>,
): Promise<void> {
  const [result] = await tx
    .update(webhookLogs)
    .set(set)
    .where(and(eq(webhookLogs.id, webhookLogId), eq(webhookLogs.status, 'staged'), notDeleted(webhookLogs)));
  if (result.affectedRows !== 1) {
    throw new Precondition('The alert of this staged signal is no longer waiting for a decision');
  }
}
