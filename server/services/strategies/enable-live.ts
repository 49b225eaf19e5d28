import type { StrategyView } from '#shared/schemas/strategies.ts';
import type { ServiceContext } from '../context.ts';
import { setStrategyState } from './toggle.ts';

/** Allows orders to live broker connections; live_enabled_at keeps the moment of the (confirmed) opt-in. */
export function enableLive(ctx: ServiceContext, id: number): Promise<StrategyView> {
  return setStrategyState(ctx, id, {
    action: 'strategy.enable_live',
    alreadyThere: (strategy) => strategy.liveEnabledAt !== null,
    set: () => ({ liveEnabledAt: new Date() }),
  });
}
