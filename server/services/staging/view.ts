/**
 * What staged-signal reads load and whose rows they may see. A staging row has no user column: it belongs to the
 * user of its strategy, so reads join strategies and scope on strategies.user_id in the same query. Rows of a
 * soft-deleted strategy are gone with it, as its logs are.
 */
import { and, eq, type SQL } from 'drizzle-orm';
import { stagingTrades } from '#drizzle/schema/staging_trades.ts';
import { strategies } from '#drizzle/schema/strategies.ts';
import type { StagedTradeView } from '#shared/schemas/webhooks.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { NotFound } from '../errors.ts';

export const stagedColumns = {
  id: stagingTrades.id,
  strategyId: stagingTrades.strategyId,
  strategyName: strategies.name,
  webhookLogId: stagingTrades.webhookLogId,
  symbol: stagingTrades.symbol,
  action: stagingTrades.action,
  quantity: stagingTrades.quantity,
  orderType: stagingTrades.orderType,
  tif: stagingTrades.tif,
  limitPrice: stagingTrades.limitPrice,
  stopPrice: stagingTrades.stopPrice,
  takeProfitPrice: stagingTrades.takeProfitPrice,
  stopLossPrice: stagingTrades.stopLossPrice,
  status: stagingTrades.status,
  expiresAt: stagingTrades.expiresAt,
  decidedBy: stagingTrades.decidedBy,
  decidedAt: stagingTrades.decidedAt,
  decisionReason: stagingTrades.decisionReason,
  createdAt: stagingTrades.createdAt,
};

export const stagedStrategyJoin = eq(strategies.id, stagingTrades.strategyId);

/** The caller's staged signals of live strategies; use with `innerJoin(strategies, stagedStrategyJoin)`. */
export function ownedStaged(ctx: ServiceContext): SQL | undefined {
  return and(eq(strategies.userId, actingUserId(ctx)), notDeleted(strategies));
}

/** The caller's staged signal `id`; another user's id is NotFound, like a missing one. Takes no lock. */
export async function loadOwnedStaged(db: DbOrTx, ctx: ServiceContext, id: number): Promise<StagedTradeView> {
  const [row] = await db
    .select(stagedColumns)
    .from(stagingTrades)
    .innerJoin(strategies, stagedStrategyJoin)
    .where(and(eq(stagingTrades.id, id), ownedStaged(ctx)));
  if (!row) throw new NotFound('Staged signal');
  return row;
}
