import type { StrategyView } from '#shared/schemas/strategies.ts';
import type { ServiceContext } from '../context.ts';
import { setStrategyState } from './toggle.ts';

/** A paused strategy answers its webhooks `strategy-paused` (409) and executes nothing. */
export function pauseStrategy(ctx: ServiceContext, id: number): Promise<StrategyView> {
  return setStrategyState(ctx, id, {
    action: 'strategy.pause',
    alreadyThere: (strategy) => !strategy.isActive,
    set: () => ({ isActive: false }),
  });
}
