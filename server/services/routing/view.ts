import { and, eq } from 'drizzle-orm';
import { routingRules } from '#drizzle/schema/routing_rules.ts';
import type { RoutingRuleView } from '#shared/schemas/routing.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { NotFound } from '../errors.ts';

export const routingRuleColumns = {
  id: routingRules.id,
  strategyId: routingRules.strategyId,
  brokerConnectionId: routingRules.brokerConnectionId,
  quantityMultiplier: routingRules.quantityMultiplier,
  symbolMap: routingRules.symbolMap,
  priority: routingRules.priority,
  isActive: routingRules.isActive,
  createdAt: routingRules.createdAt,
  updatedAt: routingRules.updatedAt,
};

/** The caller's live rule `id`, scoped in the query: another user's id is NotFound like a missing one. */
export function ownedRule(ctx: ServiceContext, id: number) {
  return and(eq(routingRules.id, id), eq(routingRules.userId, actingUserId(ctx)), notDeleted(routingRules));
}

export async function loadOwnedRule(
  db: DbOrTx,
  ctx: ServiceContext,
  id: number,
  options: { forUpdate?: boolean } = {},
): Promise<RoutingRuleView> {
  const query = db.select(routingRuleColumns).from(routingRules).where(ownedRule(ctx, id));
  const [row] = options.forUpdate ? await query.for('update') : await query;
  if (!row) throw new NotFound('Routing rule');
  return row;
}

/** The fields an audit row records (ids and settings; a rule holds no secrets). */
export function auditRule(rule: RoutingRuleView): Record<string, unknown> {
  const { createdAt: _created, updatedAt: _updated, ...settings } = rule;
  return settings;
}

export const DUPLICATE_RULE = 'This strategy is already routed to this broker connection';
