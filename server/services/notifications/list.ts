import { and, count, desc, eq } from 'drizzle-orm';
import { notifications } from '#drizzle/schema/notifications.ts';
import type { Page } from '#shared/pagination.ts';
import {
  type ListNotificationsInput,
  type NotificationView,
  UNREAD_COUNT_CAP,
  type UnreadNotifications,
} from '#shared/schemas/notifications.ts';
import type { ServiceContext } from '../context.ts';
import { afterCursor, toPage } from '../pagination.ts';
import { notificationColumns, ownNotifications, toNotificationView } from './view.ts';

/**
 * The caller's newest unread notifications and how many are unread (at most UNREAD_COUNT_CAP). Both read
 * notifications_user_id_is_read_created_at_idx; the count stops at the cap instead of counting every row.
 */
export async function getUnread(ctx: ServiceContext, input: { limit: number }): Promise<UnreadNotifications> {
  const unread = and(ownNotifications(ctx), eq(notifications.isRead, false));
  const rows = await ctx.db
    .select(notificationColumns)
    .from(notifications)
    .where(unread)
    .orderBy(desc(notifications.createdAt), desc(notifications.id))
    .limit(input.limit);
  const capped = ctx.db.select({ id: notifications.id }).from(notifications).where(unread).limit(UNREAD_COUNT_CAP);
  const [counted] = await ctx.db.select({ n: count() }).from(capped.as('unread'));
  return { items: rows.map(toNotificationView), unreadCount: Number(counted?.n ?? 0) };
}

/** The caller's notifications newest first, paged on id (notifications_user_id_id_idx); optionally unread only. */
export async function listNotifications(
  ctx: ServiceContext,
  input: ListNotificationsInput,
): Promise<Page<NotificationView>> {
  const rows = await ctx.db
    .select(notificationColumns)
    .from(notifications)
    .where(
      and(
        ownNotifications(ctx),
        input.unreadOnly ? eq(notifications.isRead, false) : undefined,
        afterCursor(notifications.id, input),
      ),
    )
    .orderBy(desc(notifications.id))
    .limit(input.limit + 1);
  const page = toPage(rows, input);
  return { items: page.items.map(toNotificationView), nextCursor: page.nextCursor };
}
