import { and, desc, eq } from 'drizzle-orm';
import { stagingTrades } from '#drizzle/schema/staging_trades.ts';
import { strategies } from '#drizzle/schema/strategies.ts';
import type { Page } from '#shared/pagination.ts';
import type { GetStagedInput, StagedTradeView } from '#shared/schemas/webhooks.ts';
import type { ServiceContext } from '../context.ts';
import { afterCursor, toPage } from '../pagination.ts';
import { ownedStaged, stagedColumns, stagedStrategyJoin } from './view.ts';

/**
 * webhooks.getStaged: the caller's staged signals, newest first, with their strategy's name. A strategy (and
 * status) filter is served by staging_trades_strategy_id_status_created_at_idx; a strategyId that is not the
 * caller's matches nothing.
 */
export async function listStaged(ctx: ServiceContext, input: GetStagedInput): Promise<Page<StagedTradeView>> {
  const rows = await ctx.db
    .select(stagedColumns)
    .from(stagingTrades)
    .innerJoin(strategies, stagedStrategyJoin)
    .where(
      and(
        ownedStaged(ctx),
        input.strategyId === undefined ? undefined : eq(stagingTrades.strategyId, input.strategyId),
        input.status === undefined ? undefined : eq(stagingTrades.status, input.status),
        afterCursor(stagingTrades.id, input),
      ),
    )
    .orderBy(desc(stagingTrades.id))
    .limit(input.limit + 1);
  return toPage(rows, input);
}
