import { and, eq, inArray } from 'drizzle-orm';
import { routingRules } from '#drizzle/schema/routing_rules.ts';
import { emitAudit } from '../../audit/emit.ts';
import { notDeleted, softDeleteSet } from '../../db/soft-delete.ts';
import type { Transaction } from '../../db/transaction.ts';
import type { ServiceContext } from '../context.ts';

/**
 * Soft-deletes (and deactivates) every live routing rule of a broker connection or a strategy, with one audit row
 * per rule naming the cause. Runs in the caller's transaction, so the rules go with the change that orphaned them.
 * Returns the ids of the rules it removed.
 */
export async function deactivateRoutingRules(
  tx: Transaction,
  ctx: ServiceContext,
  scope: { brokerConnectionId: number } | { strategyId: number },
  cause: string,
): Promise<number[]> {
  const match =
    'brokerConnectionId' in scope
      ? eq(routingRules.brokerConnectionId, scope.brokerConnectionId)
      : eq(routingRules.strategyId, scope.strategyId);
  const rules = await tx
    .select({
      id: routingRules.id,
      strategyId: routingRules.strategyId,
      brokerConnectionId: routingRules.brokerConnectionId,
    })
    .from(routingRules)
    .where(and(match, notDeleted(routingRules)))
    .for('update');
  if (rules.length === 0) return [];
  const ids = rules.map((rule) => rule.id);
  const actorId = ctx.actor.type === 'user' ? ctx.actor.userId : null;
  await tx
    .update(routingRules)
    .set({ ...softDeleteSet(actorId), isActive: false })
    .where(inArray(routingRules.id, ids));
  for (const rule of rules) {
    await emitAudit(tx, ctx, {
      action: 'routing_rule.delete',
      resourceType: 'routing_rule',
      resourceId: rule.id,
      oldValue: { strategyId: rule.strategyId, brokerConnectionId: rule.brokerConnectionId },
      newValue: { cause },
    });
  }
  return ids;
}
