/**
 * Manual mode (SPEC §5): a signal of a `manual` strategy becomes a staging_trades row waiting for the trader, the
 * log `staged`, and a notification, instead of orders. Approval marks the row `approved`, puts the log back to
 * `received` and enqueues its signal job again: the engine then finds the approval (takeApproval) and executes the
 * signal as staged. Rejection or expiry closes the row and the log.
 */
import { and, eq } from 'drizzle-orm';
import { stagingTrades } from '#drizzle/schema/staging_trades.ts';
import { webhookLogs } from '#drizzle/schema/webhook_logs.ts';
import type { Signal } from '#shared/schemas/signal.ts';
import type { Transaction } from '../../db/transaction.ts';
import { createNotification } from '../notifications/create.ts';

/** How long a staged signal waits for a decision (SPEC §5 default). */
export const STAGING_TTL_MS = 5 * 60_000;

export async function stageSignal(
  tx: Transaction,
  input: { strategy: { id: number; userId: number; name: string }; signal: Signal; webhookLogId: number },
): Promise<number> {
  const { strategy, signal } = input;
  const expiresAt = new Date(Date.now() + STAGING_TTL_MS);
  const [row] = await tx
    .insert(stagingTrades)
    .values({
      strategyId: strategy.id,
      webhookLogId: input.webhookLogId,
      symbol: signal.ticker,
      action: signal.action,
      quantity: signal.quantity ?? null,
      orderType: signal.orderType ?? (signal.limitPrice ? 'limit' : 'market'),
      tif: signal.timeInForce ?? 'day',
      limitPrice: signal.limitPrice ?? null,
      stopPrice: signal.stopPrice ?? null,
      takeProfitPrice: signal.takeProfit?.limitPrice ?? null,
      stopLossPrice: signal.stopLoss?.stopPrice ?? null,
      signal: signal as Record<string, unknown>,
      expiresAt,
    })
    .$returningId();
  if (!row) throw new Error('staging insert returned no id');
  await tx.update(webhookLogs).set({ status: 'staged' }).where(eq(webhookLogs.id, input.webhookLogId));
  await createNotification(tx, {
    userId: strategy.userId,
    type: 'staging.pending',
    severity: 'info',
    title: `${signal.action} ${signal.ticker} waits for your approval (${strategy.name})`,
    message: `Approve or reject it before ${expiresAt.toISOString()}; it expires unexecuted after that.`,
    data: { stagingId: row.id, webhookLogId: input.webhookLogId, strategyId: strategy.id },
  });
  return row.id;
}

/**
 * True, once, when the trader approved this log's staged signal: the approval is consumed (`approved` →
 * `executed`) in the engine's transaction, so the orders and the staging row's final state commit together.
 */
export async function takeApproval(tx: Transaction, webhookLogId: number): Promise<boolean> {
  const [result] = await tx
    .update(stagingTrades)
    .set({ status: 'executed' })
    .where(and(eq(stagingTrades.webhookLogId, webhookLogId), eq(stagingTrades.status, 'approved')));
  return result.affectedRows > 0;
}

/** Ends a consumed approval as not executed after all, with the reason the trader will read. */
export async function closeApproval(
  tx: Transaction,
  webhookLogId: number,
  status: 'rejected',
  reason: string,
): Promise<void> {
  await tx
    .update(stagingTrades)
    .set({ status, decisionReason: reason.slice(0, 500) })
    .where(and(eq(stagingTrades.webhookLogId, webhookLogId), eq(stagingTrades.status, 'executed')));
}
