import { eq } from 'drizzle-orm';
import { routingRules } from '#drizzle/schema/routing_rules.ts';
import type { RoutingRuleView, UpdateRoutingRuleInput } from '#shared/schemas/routing.ts';
import { emitAudit } from '../../audit/emit.ts';
import { withTransaction } from '../../db/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { auditRule, loadOwnedRule } from './view.ts';

/** Changes a rule's sizing, symbol map, priority or activity; its strategy and connection stay. */
export async function updateRoutingRule(ctx: ServiceContext, input: UpdateRoutingRuleInput): Promise<RoutingRuleView> {
  return withTransaction(ctx, async (tx) => {
    const before = await loadOwnedRule(tx, ctx, input.id, { forUpdate: true });
    const { id, ...changes } = input;
    await tx.update(routingRules).set(changes).where(eq(routingRules.id, id));
    const after = await loadOwnedRule(tx, ctx, id);
    await emitAudit(tx, ctx, {
      action: 'routing_rule.update',
      resourceType: 'routing_rule',
      resourceId: id,
      oldValue: auditRule(before),
      newValue: auditRule(after),
    });
    return after;
  });
}
