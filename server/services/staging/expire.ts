import { and, asc, eq, inArray, lte } from 'drizzle-orm';
import { stagingTrades } from '#drizzle/schema/staging_trades.ts';
import { strategies } from '#drizzle/schema/strategies.ts';
import { webhookLogs } from '#drizzle/schema/webhook_logs.ts';
import type { Transaction } from '../../db/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { createNotification } from '../notifications/create.ts';

export interface ExpireStagedOptions {
  now?: Date;
  /** Rows expired per transaction. */
  batchSize?: number;
  /** Batches per run: bounds one run's work, the next run (30 s later) carries on. */
  maxBatches?: number;
}

/**
 * The `expire-staged` maintenance job (SPEC §5): staged signals still `pending` at their expires_at close unexecuted.
 * Each batch is one transaction: the rows are read with FOR UPDATE through staging_trades_status_expires_at_idx,
 * so a decision racing with the expiry either committed first (the row is no longer `pending` and is skipped) or
 * waits and then finds the row `expired`. The rows turn `expired`, their logs `staged` → `ignored` with error code
 * `staging-expired`, and each owner gets a `staging.expired` notification, all in that transaction.
 */
export async function expireStaged(
  ctx: ServiceContext,
  options: ExpireStagedOptions = {},
): Promise<{ expired: number }> {
  const now = options.now ?? new Date();
  const batchSize = options.batchSize ?? 100;
  const maxBatches = options.maxBatches ?? 10;
  let expired = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const count = await ctx.db.transaction((tx) => expireBatch(tx, now, batchSize));
    expired += count;
    if (count < batchSize) break;
  }
  if (expired > 0) ctx.log.info({ expired }, 'expired staged signals nobody decided on');
  return { expired };
}

async function expireBatch(tx: Transaction, now: Date, batchSize: number): Promise<number> {
  const rows = await tx
    .select({
      id: stagingTrades.id,
      strategyId: stagingTrades.strategyId,
      webhookLogId: stagingTrades.webhookLogId,
      symbol: stagingTrades.symbol,
      action: stagingTrades.action,
      expiresAt: stagingTrades.expiresAt,
    })
    .from(stagingTrades)
    .where(and(eq(stagingTrades.status, 'pending'), lte(stagingTrades.expiresAt, now)))
    .orderBy(asc(stagingTrades.status), asc(stagingTrades.expiresAt))
    .limit(batchSize)
    .for('update');
  if (rows.length === 0) return 0;
  await tx
    .update(stagingTrades)
    .set({ status: 'expired' })
    .where(
      inArray(
        stagingTrades.id,
        rows.map((row) => row.id),
      ),
    );
  await tx
    .update(webhookLogs)
    .set({
      status: 'ignored',
      errorCode: 'staging-expired',
      errorMessage: 'Nobody approved this signal before it expired, so no order was placed',
    })
    .where(
      and(
        inArray(
          webhookLogs.id,
          rows.map((row) => row.webhookLogId),
        ),
        eq(webhookLogs.status, 'staged'),
      ),
    );
  const owners = await tx
    .select({ id: strategies.id, userId: strategies.userId, name: strategies.name })
    .from(strategies)
    .where(inArray(strategies.id, [...new Set(rows.map((row) => row.strategyId))]));
  const ownerOf = new Map(owners.map((owner) => [owner.id, owner]));
  for (const row of rows) {
    const strategy = ownerOf.get(row.strategyId);
    if (!strategy) continue; // the foreign key makes this unreachable
    await createNotification(tx, {
      userId: strategy.userId,
      type: 'staging.expired',
      severity: 'warning',
      title: `${row.action} ${row.symbol} expired without a decision (${strategy.name})`,
      message: `It waited for approval until ${row.expiresAt.toISOString()}; no order was placed.`,
      data: { stagingId: row.id, webhookLogId: row.webhookLogId, strategyId: row.strategyId },
    });
  }
  return rows.length;
}
