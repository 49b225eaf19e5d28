import { and, desc, eq } from 'drizzle-orm';
import { routingRules } from '#drizzle/schema/routing_rules.ts';
import type { Page } from '#shared/pagination.ts';
import type { ListRoutingRulesInput, RoutingRuleView } from '#shared/schemas/routing.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { afterCursor, toPage } from '../pagination.ts';
import { routingRuleColumns } from './view.ts';

/**
 * The caller's live rules, newest first, optionally of one strategy. Served by routing_rules_user_id_idx; with a
 * strategy, by routing_rules_strategy_id_broker_connection_id_live_uq's strategy_id prefix.
 */
export async function listRoutingRules(
  ctx: ServiceContext,
  input: ListRoutingRulesInput,
): Promise<Page<RoutingRuleView>> {
  const rows = await ctx.db
    .select(routingRuleColumns)
    .from(routingRules)
    .where(
      and(
        eq(routingRules.userId, actingUserId(ctx)),
        notDeleted(routingRules),
        input.strategyId === undefined ? undefined : eq(routingRules.strategyId, input.strategyId),
        afterCursor(routingRules.id, input),
      ),
    )
    .orderBy(desc(routingRules.id))
    .limit(input.limit + 1);
  return toPage(rows, input);
}
