/**
 * Manual mode (SPEC §5): a signal of a `manual` strategy becomes a staging_trades row waiting for the trader, the
 * log `staged`, and a notification, instead of orders. Approval runs the same engine on the staged log
 * (executeSignal with approvedStagingId); rejection or expiry closes the row.
 */
import { eq } from 'drizzle-orm';
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
