import { z } from 'zod';
import {
  createdStrategyView,
  createStrategyInput,
  enableLiveInput,
  issuedWebhookView,
  listStrategiesInput,
  strategyIdInput,
  strategyPage,
  strategyView,
  updateStrategyInput,
  webhookUrlView,
} from '#shared/schemas/strategies.ts';
import { createStrategy } from '../../services/strategies/create.ts';
import { deleteStrategy } from '../../services/strategies/delete.ts';
import { disableLive } from '../../services/strategies/disable-live.ts';
import { enableLive } from '../../services/strategies/enable-live.ts';
import { getStrategy } from '../../services/strategies/get.ts';
import { getWebhookUrl } from '../../services/strategies/get-webhook-url.ts';
import { listStrategies } from '../../services/strategies/list.ts';
import { pauseStrategy } from '../../services/strategies/pause.ts';
import { resumeStrategy } from '../../services/strategies/resume.ts';
import { rotateWebhookToken } from '../../services/strategies/rotate-webhook-token.ts';
import { updateStrategy } from '../../services/strategies/update.ts';
import { serviceContext } from '../context.ts';
import { protectedProcedure, router } from '../init.ts';

// Every procedure declares its output: the schemas list only safe fields, so a secret column can never slip out.
const byId = protectedProcedure.input(strategyIdInput);

export const strategiesRouter = router({
  list: protectedProcedure
    .input(listStrategiesInput)
    .output(strategyPage)
    .query(({ ctx, input }) => listStrategies(serviceContext(ctx), input)),
  get: byId.output(strategyView).query(({ ctx, input }) => getStrategy(serviceContext(ctx), input.id)),
  create: protectedProcedure
    .input(createStrategyInput)
    .output(createdStrategyView)
    .mutation(({ ctx, input }) => createStrategy(serviceContext(ctx), input)),
  update: protectedProcedure
    .input(updateStrategyInput)
    .output(strategyView)
    .mutation(({ ctx, input }) => updateStrategy(serviceContext(ctx), input)),
  delete: byId
    .output(z.object({ ok: z.literal(true) }))
    .mutation(({ ctx, input }) => deleteStrategy(serviceContext(ctx), input.id)),
  pause: byId.output(strategyView).mutation(({ ctx, input }) => pauseStrategy(serviceContext(ctx), input.id)),
  resume: byId.output(strategyView).mutation(({ ctx, input }) => resumeStrategy(serviceContext(ctx), input.id)),
  rotateWebhookToken: byId
    .output(issuedWebhookView)
    .mutation(({ ctx, input }) => rotateWebhookToken(serviceContext(ctx), input.id)),
  // A mutation, not a query: each reveal writes an audit row, and a query would be refetched (and audited) at will.
  getWebhookUrl: byId.output(webhookUrlView).mutation(({ ctx, input }) => getWebhookUrl(serviceContext(ctx), input.id)),
  enableLive: protectedProcedure
    .input(enableLiveInput)
    .output(strategyView)
    .mutation(({ ctx, input }) => enableLive(serviceContext(ctx), input.id)),
  disableLive: byId.output(strategyView).mutation(({ ctx, input }) => disableLive(serviceContext(ctx), input.id)),
});
