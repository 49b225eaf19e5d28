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
import { deleteChannel } from '../../services/channels/delete.ts';
import { listChannels } from '../../services/channels/list.ts';
import { createChannelWithSecret, updateChannelWithSecret } from '../../services/notifications/channel-secrets.ts';
import { deleteNotification } from '../../services/notifications/delete.ts';
import { getUnread, listNotifications } from '../../services/notifications/list.ts';
import { markAllRead, markRead } from '../../services/notifications/mark-read.ts';
import { testChannel } from '../../services/notifications/test-channel.ts';
import { serviceContext } from '../context.ts';
import { protectedProcedure, router } from '../init.ts';

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
});
