import { z } from 'zod';
import {
  createRoutingRuleInput,
  listRoutingRulesInput,
  routingRuleIdInput,
  routingRulePage,
  routingRuleView,
  updateRoutingRuleInput,
} from '#shared/schemas/routing.ts';
import { createRoutingRule } from '../../services/routing/create.ts';
import { deleteRoutingRule } from '../../services/routing/delete.ts';
import { listRoutingRules } from '../../services/routing/list.ts';
import { updateRoutingRule } from '../../services/routing/update.ts';
import { serviceContext } from '../context.ts';
import { protectedProcedure, router } from '../init.ts';

export const routingRouter = router({
  list: protectedProcedure
    .input(listRoutingRulesInput)
    .output(routingRulePage)
    .query(({ ctx, input }) => listRoutingRules(serviceContext(ctx), input)),
  create: protectedProcedure
    .input(createRoutingRuleInput)
    .output(routingRuleView)
    .mutation(({ ctx, input }) => createRoutingRule(serviceContext(ctx), input)),
  update: protectedProcedure
    .input(updateRoutingRuleInput)
    .output(routingRuleView)
    .mutation(({ ctx, input }) => updateRoutingRule(serviceContext(ctx), input)),
  delete: protectedProcedure
    .input(routingRuleIdInput)
    .output(z.object({ ok: z.literal(true) }))
    .mutation(({ ctx, input }) => deleteRoutingRule(serviceContext(ctx), input.id)),
});
