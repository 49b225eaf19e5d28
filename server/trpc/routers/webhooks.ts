import {
  getStagedInput,
  getWebhookLogsInput,
  ingestAnswer,
  rejectStagedInput,
  replayAnswer,
  simulateSignalInput,
  stagedIdInput,
  stagedTradePage,
  stagedTradeView,
  webhookLogDetail,
  webhookLogIdInput,
  webhookLogPage,
} from '#shared/schemas/webhooks.ts';
import { approveStaged } from '../../services/staging/approve.ts';
import { listStaged } from '../../services/staging/list.ts';
import { rejectStaged } from '../../services/staging/reject.ts';
import { getWebhookLog } from '../../services/webhooks/get-log.ts';
import { listWebhookLogs } from '../../services/webhooks/list-logs.ts';
import { replayWebhookLog } from '../../services/webhooks/replay.ts';
import { simulateSignal } from '../../services/webhooks/simulate.ts';
import { serviceContext } from '../context.ts';
import { protectedProcedure, router } from '../init.ts';

// Every procedure declares its output: the raw body is masked and no strategy secret is ever part of an answer.
export const webhooksRouter = router({
  getLogs: protectedProcedure
    .input(getWebhookLogsInput)
    .output(webhookLogPage)
    .query(({ ctx, input }) => listWebhookLogs(serviceContext(ctx), input)),
  getLog: protectedProcedure
    .input(webhookLogIdInput)
    .output(webhookLogDetail)
    .query(({ ctx, input }) => getWebhookLog(serviceContext(ctx), input.id)),
  simulateSignal: protectedProcedure
    .input(simulateSignalInput)
    .output(ingestAnswer)
    .mutation(({ ctx, input }) => simulateSignal(serviceContext(ctx), ctx.deps, input)),
  replay: protectedProcedure
    .input(webhookLogIdInput)
    .output(replayAnswer)
    .mutation(({ ctx, input }) => replayWebhookLog(serviceContext(ctx), ctx.deps, input.id)),
  getStaged: protectedProcedure
    .input(getStagedInput)
    .output(stagedTradePage)
    .query(({ ctx, input }) => listStaged(serviceContext(ctx), input)),
  approveStaged: protectedProcedure
    .input(stagedIdInput)
    .output(stagedTradeView)
    .mutation(({ ctx, input }) => approveStaged(serviceContext(ctx), ctx.deps, input.id)),
  rejectStaged: protectedProcedure
    .input(rejectStagedInput)
    .output(stagedTradeView)
    .mutation(({ ctx, input }) => rejectStaged(serviceContext(ctx), input)),
});
