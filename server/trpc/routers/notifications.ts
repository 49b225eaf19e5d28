import { z } from 'zod';
import {
  channelIdInput,
  channelPage,
  channelView,
  createChannelInput,
  listChannelsInput,
  updateChannelInput,
} from '#shared/schemas/channels.ts';
import { createChannel } from '../../services/channels/create.ts';
import { deleteChannel } from '../../services/channels/delete.ts';
import { listChannels } from '../../services/channels/list.ts';
import { updateChannel } from '../../services/channels/update.ts';
import { serviceContext } from '../context.ts';
import { protectedProcedure, router } from '../init.ts';

// Output schemas list only safe fields: a channel's target (webhook URL, bot token) never leaves through an answer.
const channelsRouter = router({
  list: protectedProcedure
    .input(listChannelsInput)
    .output(channelPage)
    .query(({ ctx, input }) => listChannels(serviceContext(ctx), input)),
  create: protectedProcedure
    .input(createChannelInput)
    .output(channelView)
    .mutation(({ ctx, input }) => createChannel(serviceContext(ctx), input)),
  update: protectedProcedure
    .input(updateChannelInput)
    .output(channelView)
    .mutation(({ ctx, input }) => updateChannel(serviceContext(ctx), input)),
  delete: protectedProcedure
    .input(channelIdInput)
    .output(z.object({ ok: z.literal(true) }))
    .mutation(({ ctx, input }) => deleteChannel(serviceContext(ctx), input.id)),
});

export const notificationsRouter = router({
  channels: channelsRouter,
});
