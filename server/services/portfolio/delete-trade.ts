/**
 * portfolio.deleteTrade: hides one of the caller's trades from every figure and list (a soft delete, audited). The
 * books are untouched: fills still apply to a hidden open trade, because hiding it does not close the position at the
 * broker. The caller's cached answers are dropped before the call returns, so the next read already leaves it out.
 */
import { and, eq } from 'drizzle-orm';
import { trades } from '#drizzle/schema/trades.ts';
import { emitAudit } from '../../audit/emit.ts';
import { notDeleted, softDeleteSet } from '../../db/soft-delete.ts';
import { withTransaction } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { NotFound } from '../errors.ts';
import { bumpGeneration } from './cache.ts';
import type { PortfolioDeps } from './deps.ts';

export async function deleteTrade(
  ctx: ServiceContext,
  deps: PortfolioDeps,
  id: number,
): Promise<{ id: number; deletedAt: Date }> {
  const userId = actingUserId(ctx);
  const deleted = softDeleteSet(userId);
  await withTransaction(ctx, async (tx) => {
    const [trade] = await tx
      .select()
      .from(trades)
      .where(and(eq(trades.id, id), eq(trades.userId, userId), notDeleted(trades)))
      .for('update');
    if (!trade) throw new NotFound('Trade');
    await tx.update(trades).set(deleted).where(eq(trades.id, id));
    await emitAudit(tx, ctx, {
      action: 'trade.delete',
      resourceType: 'trade',
      resourceId: id,
      oldValue: {
        strategyId: trade.strategyId,
        brokerConnectionId: trade.brokerConnectionId,
        symbol: trade.symbol,
        side: trade.side,
        status: trade.status,
        quantity: trade.quantity,
        entryPrice: trade.entryPrice,
        exitPrice: trade.exitPrice,
        entryDate: trade.entryDate.toISOString(),
        exitDate: trade.exitDate?.toISOString() ?? null,
        pnl: trade.pnl,
        fees: trade.fees,
      },
    });
  });
  // Awaited, unlike the worker's invalidation: the trader's next read must not find the trade in a cached answer.
  await bumpGeneration(deps.redis, userId).catch((err: unknown) => {
    ctx.log.warn(
      { err, userId },
      'portfolio cache not invalidated after a trade delete; answers expire with their TTL',
    );
  });
  return { id, deletedAt: deleted.deletedAt };
}
