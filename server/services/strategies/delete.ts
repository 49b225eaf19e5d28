import { eq } from 'drizzle-orm';
import { strategies } from '#drizzle/schema/strategies.ts';
import { emitAudit } from '../../audit/emit.ts';
import { softDeleteSet } from '../../db/soft-delete.ts';
import { withTransaction } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { deactivateRoutingRules } from '../routing/deactivate.ts';
import { invalidateWebhookStrategies } from '../webhooks/strategy-cache.ts';
import { auditSettings } from './settings.ts';
import { loadOwnedStrategy } from './view.ts';

/**
 * Soft-deletes the strategy and its routing rules: its name is free again, its webhook token answers 404 like an
 * unknown one, and its history (logs, orders, trades) stays.
 */
export async function deleteStrategy(ctx: ServiceContext, id: number): Promise<{ ok: true }> {
  await withTransaction(ctx, async (tx) => {
    const before = await loadOwnedStrategy(tx, ctx, id, { forUpdate: true });
    await tx
      .update(strategies)
      .set(softDeleteSet(actingUserId(ctx)))
      .where(eq(strategies.id, id));
    await deactivateRoutingRules(tx, ctx, { strategyId: id }, 'strategy.delete');
    await emitAudit(tx, ctx, {
      action: 'strategy.delete',
      resourceType: 'strategy',
      resourceId: id,
      oldValue: auditSettings(before),
    });
  });
  // Committed: the token answers 404 from the next alert.
  invalidateWebhookStrategies({ strategyIds: [id] });
  return { ok: true as const };
}
