import type { StrategyView } from '#shared/schemas/strategies.ts';
import type { ServiceContext } from '../context.ts';
import { setStrategyState } from './toggle.ts';

/** Back to paper only: routing skips live connections until live trading is enabled again. */
export function disableLive(ctx: ServiceContext, id: number): Promise<StrategyView> {
  return setStrategyState(ctx, id, {
    action: 'strategy.disable_live',
    alreadyThere: (strategy) => strategy.liveEnabledAt === null,
    set: () => ({ liveEnabledAt: null }),
  });
}
