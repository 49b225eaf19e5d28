import type { StrategyView } from '#shared/schemas/strategies.ts';
import type { ServiceContext } from '../context.ts';
import { setStrategyState } from './toggle.ts';

export function resumeStrategy(ctx: ServiceContext, id: number): Promise<StrategyView> {
  return setStrategyState(ctx, id, {
    action: 'strategy.resume',
    alreadyThere: (strategy) => strategy.isActive,
    set: () => ({ isActive: true }),
  });
}
