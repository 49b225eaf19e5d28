/**
 * portfolio.getOpenPositions: the caller's non-flat positions, newest first, valued at their latest mark. Position
 * ids never change and are never reused, so keyset pages on the id never overlap; a position that goes flat between
 * pages simply drops out. Not cached: a page is one indexed read, and marks move.
 */
import type { Page } from '#shared/pagination.ts';
import type { GetOpenPositionsInput, OpenPositionView } from '#shared/schemas/portfolio.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { toPage } from '../pagination.ts';
import type { PortfolioDeps } from './deps.ts';
import { loadOpenPositions } from './positions.ts';

export async function listOpenPositions(
  ctx: ServiceContext,
  deps: PortfolioDeps,
  input: GetOpenPositionsInput,
): Promise<Page<OpenPositionView>> {
  const rows = await loadOpenPositions(ctx.db, deps.redis, {
    userId: actingUserId(ctx),
    strategyId: input.strategyId,
    beforeId: input.cursor,
    limit: input.limit + 1,
  });
  return toPage(rows, input);
}
