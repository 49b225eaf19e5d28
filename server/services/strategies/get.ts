import type { StrategyView } from '#shared/schemas/strategies.ts';
import type { ServiceContext } from '../context.ts';
import { loadOwnedStrategy } from './view.ts';

export function getStrategy(ctx: ServiceContext, id: number): Promise<StrategyView> {
  return loadOwnedStrategy(ctx.db, ctx, id);
}
