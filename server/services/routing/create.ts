import { and, eq } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import { routingRules } from '#drizzle/schema/routing_rules.ts';
import { strategies } from '#drizzle/schema/strategies.ts';
import type { CreateRoutingRuleInput, RoutingRuleView } from '#shared/schemas/routing.ts';
import { emitAudit } from '../../audit/emit.ts';
import { isDuplicateKey } from '../../db/errors.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import { withTransaction } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { Conflict, NotFound } from '../errors.ts';
import { auditRule, DUPLICATE_RULE, loadOwnedRule } from './view.ts';

/**
 * Routes a strategy's signals to a broker connection. Both must be the caller's live rows; either missing answers
 * the same NotFound, so the error never says which of two ids exists. Both rows are locked so a concurrent delete
 * or disconnect cannot leave a live rule pointing at a dead parent.
 */
export async function createRoutingRule(ctx: ServiceContext, input: CreateRoutingRuleInput): Promise<RoutingRuleView> {
  const userId = actingUserId(ctx);
  try {
    return await withTransaction(ctx, async (tx) => {
      const [strategy] = await tx
        .select({ id: strategies.id })
        .from(strategies)
        .where(and(eq(strategies.id, input.strategyId), eq(strategies.userId, userId), notDeleted(strategies)))
        .for('update');
      const [connection] = await tx
        .select({ id: brokerConnections.id })
        .from(brokerConnections)
        .where(
          and(
            eq(brokerConnections.id, input.brokerConnectionId),
            eq(brokerConnections.userId, userId),
            notDeleted(brokerConnections),
          ),
        )
        .for('update');
      if (!strategy || !connection) throw new NotFound('Strategy or broker connection');

      const [inserted] = await tx
        .insert(routingRules)
        .values({
          userId,
          strategyId: strategy.id,
          brokerConnectionId: connection.id,
          quantityMultiplier: input.quantityMultiplier,
          symbolMap: input.symbolMap,
          priority: input.priority,
          isActive: input.isActive,
        })
        .$returningId();
      if (!inserted) throw new Error('routing rule insert returned no id');
      const rule = await loadOwnedRule(tx, ctx, inserted.id);
      await emitAudit(tx, ctx, {
        action: 'routing_rule.create',
        resourceType: 'routing_rule',
        resourceId: rule.id,
        newValue: auditRule(rule),
      });
      return rule;
    });
  } catch (error) {
    if (isDuplicateKey(error)) throw new Conflict(DUPLICATE_RULE);
    throw error;
  }
}
