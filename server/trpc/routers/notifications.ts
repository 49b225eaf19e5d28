import { tracked } from '@trpc/server';
import { z } from 'zod';
import {
  channelIdInput,
  channelPage,
  channelTestResult,
  createChannelInput,
  listChannelsInput,
  savedChannel,
  updateChannelInput,
} from '#shared/schemas/channels.ts';
import { onEventInput } from '#shared/schemas/events.ts';
import {
  getUnreadInput,
  listNotificationsInput,
  markAllReadInput,
  markReadInput,
  markReadResult,
  notificationIdInput,
  notificationPage,
  unreadNotifications,
} from '#shared/schemas/notifications.ts';
import { isSessionLive } from '../../services/auth/session-check.ts';
import { deleteChannel } from '../../services/channels/delete.ts';
import { listChannels } from '../../services/channels/list.ts';
import { ServiceError } from '../../services/errors.ts';
import { openUserEventStream, type StreamedEvent } from '../../services/events/stream.ts';
import { createChannelWithSecret, updateChannelWithSecret } from '../../services/notifications/channel-secrets.ts';
import { deleteNotification } from '../../services/notifications/delete.ts';
import { getUnread, listNotifications } from '../../services/notifications/list.ts';
import { markAllRead, markRead } from '../../services/notifications/mark-read.ts';
import { testChannel } from '../../services/notifications/test-channel.ts';
import { serviceContext, type TrpcContext } from '../context.ts';
import { protectedProcedure, router } from '../init.ts';
import { toTrpcError } from '../middleware/service-errors.ts';

// Output schemas list only safe fields: a channel's target (webhook URL, bot token) never leaves through an answer;
// a webhook's generated signing secret leaves once, in the answer of the save that generated it.
const channelsRouter = router({
  list: protectedProcedure
    .input(listChannelsInput)
    .output(channelPage)
    .query(({ ctx, input }) => listChannels(serviceContext(ctx), input)),
  create: protectedProcedure
    .input(createChannelInput)
    .output(savedChannel)
    .mutation(({ ctx, input }) => createChannelWithSecret(serviceContext(ctx), input)),
  update: protectedProcedure
    .input(updateChannelInput)
    .output(savedChannel)
    .mutation(({ ctx, input }) => updateChannelWithSecret(serviceContext(ctx), input)),
  delete: protectedProcedure
    .input(channelIdInput)
    .output(z.object({ ok: z.literal(true) }))
    .mutation(({ ctx, input }) => deleteChannel(serviceContext(ctx), input.id)),
  // Calls a third party, like the broker verbs: the same tighter per-user budget.
  test: protectedProcedure
    .meta({ rateClass: 'broker' })
    .input(channelIdInput)
    .output(channelTestResult)
    .mutation(({ ctx, input }) => testChannel(serviceContext(ctx), input.id)),
});

export const notificationsRouter = router({
  getUnread: protectedProcedure
    .input(getUnreadInput)
    .output(unreadNotifications)
    .query(({ ctx, input }) => getUnread(serviceContext(ctx), input)),
  list: protectedProcedure
    .input(listNotificationsInput)
    .output(notificationPage)
    .query(({ ctx, input }) => listNotifications(serviceContext(ctx), input)),
  markRead: protectedProcedure
    .input(markReadInput)
    .output(markReadResult)
    .mutation(({ ctx, input }) => markRead(serviceContext(ctx), input.ids)),
  markAllRead: protectedProcedure
    .input(markAllReadInput)
    .output(markReadResult)
    .mutation(({ ctx, input }) => markAllRead(serviceContext(ctx), input)),
  delete: protectedProcedure
    .input(notificationIdInput)
    .output(z.object({ ok: z.literal(true) }))
    .mutation(({ ctx, input }) => deleteNotification(serviceContext(ctx), input.id)),
  channels: channelsRouter,
  /**
   * Server-sent events of the caller's notifications, orders and webhook receipts, each `tracked` by its event id so
   * a reconnection resumes after the last one received. Authenticated by the bearer header or, from an EventSource,
   * `connectionParams.token`; ends with UNAUTHORIZED when that token expires or the session ends.
   */
  onEvent: protectedProcedure.input(onEventInput).subscription(async ({ ctx, input, signal }) => {
    const user = ctx.user;
    // Opened before the answer starts, so a client that heard the stream start misses nothing appended after.
    const events = await openUserEventStream(ctx.eventHub, ctx.deps.redis, ctx.log, {
      userId: user.id,
      lastEventId: input?.lastEventId,
      signal: signal ?? new AbortController().signal,
      authorizedUntil: user.tokenExpiresAt,
      stillAuthorized: () => isSessionLive(ctx.deps.database.db, user.id, user.sessionFamily),
    });
    return trackedEvents(events, ctx);
  }),
});

/**
 * Each event tracked by its id. Errors surface while the stream runs, after the procedure middleware returned: typed
 * service errors become their tRPC codes here (SERVICE_UNAVAILABLE makes the client reconnect, UNAUTHORIZED stops
 * it), and anything else is logged and masked as usual.
 */
async function* trackedEvents(events: AsyncGenerator<StreamedEvent, void>, ctx: TrpcContext) {
  try {
    for await (const { id, event } of events) yield tracked(id, event);
  } catch (error) {
    if (error instanceof ServiceError) throw toTrpcError(error);
    ctx.log.error({ err: error, path: 'notifications.onEvent' }, 'event stream failed');
    throw error;
  }
}
