import { and, desc, eq } from 'drizzle-orm';
import { notificationChannels } from '#drizzle/schema/notification_channels.ts';
import type { Page, PaginationInput } from '#shared/pagination.ts';
import type { ChannelView } from '#shared/schemas/channels.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { afterCursor, toPage } from '../pagination.ts';
import { channelColumns, toChannelView } from './view.ts';

/** The caller's live channels, newest first. Served by notification_channels_user_id_name_live_uq's user_id prefix. */
export async function listChannels(ctx: ServiceContext, input: PaginationInput): Promise<Page<ChannelView>> {
  const rows = await ctx.db
    .select(channelColumns)
    .from(notificationChannels)
    .where(
      and(
        eq(notificationChannels.userId, actingUserId(ctx)),
        notDeleted(notificationChannels),
        afterCursor(notificationChannels.id, input),
      ),
    )
    .orderBy(desc(notificationChannels.id))
    .limit(input.limit + 1);
  const page = toPage(rows, input);
  return { items: page.items.map((row) => toChannelView(ctx, row)), nextCursor: page.nextCursor };
}
