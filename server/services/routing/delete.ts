import { eq } from 'drizzle-orm';
import { routingRules } from '#drizzle/schema/routing_rules.ts';
import { emitAudit } from '../../audit/emit.ts';
import { softDeleteSet } from '../../db/soft-delete.ts';
import { withTransaction } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { auditRule, loadOwnedRule } from './view.ts';

/** Soft-deletes a rule: signals stop going to that connection; orders it routed keep their history. */
export async function deleteRoutingRule(ctx: ServiceContext, id: number): Promise<{ ok: true }> {
  return withTransaction(ctx, async (tx) => {
    const before = await loadOwnedRule(tx, ctx, id, { forUpdate: true });
    await tx
      .update(routingRules)
      .set({ ...softDeleteSet(actingUserId(ctx)), isActive: false })
      .where(eq(routingRules.id, id));
    await emitAudit(tx, ctx, {
      action: 'routing_rule.delete',
      resourceType: 'routing_rule',
      resourceId: id,
      oldValue: auditRule(before),
    });
    return { ok: true as const };
  });
}
