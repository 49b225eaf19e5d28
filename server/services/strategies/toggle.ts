import { eq } from 'drizzle-orm';
import { strategies } from '#drizzle/schema/strategies.ts';
import type { StrategyView } from '#shared/schemas/strategies.ts';
import { emitAudit } from '../../audit/emit.ts';
import { withTransaction } from '../../db/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { invalidateWebhookStrategies } from '../webhooks/strategy-cache.ts';
import { loadOwnedStrategy } from './view.ts';

type StateFields = Partial<Pick<StrategyView, 'isActive' | 'liveEnabledAt'>>;

/**
 * Moves a strategy into a state (paused, live-enabled, …) and audits the move. Asking for the state it is already
 * in changes nothing and writes no audit row, so a double click cannot move live_enabled_at.
 */
export async function setStrategyState(
  ctx: ServiceContext,
  id: number,
  change: { action: string; alreadyThere: (strategy: StrategyView) => boolean; set: () => StateFields },
): Promise<StrategyView> {
  const after = await withTransaction(ctx, async (tx) => {
    const before = await loadOwnedStrategy(tx, ctx, id, { forUpdate: true });
    if (change.alreadyThere(before)) return before;
    const set = change.set();
    const oldValue = Object.fromEntries(Object.keys(set).map((key) => [key, before[key as keyof StateFields]]));
    await tx.update(strategies).set(set).where(eq(strategies.id, id));
    await emitAudit(tx, ctx, {
      action: change.action,
      resourceType: 'strategy',
      resourceId: id,
      oldValue,
      newValue: set,
    });
    return loadOwnedStrategy(tx, ctx, id);
  });
  // Committed: the webhook route sees a pause or resume on the next alert.
  invalidateWebhookStrategies({ strategyIds: [id] });
  return after;
}
