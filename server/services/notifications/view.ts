import { and, eq } from 'drizzle-orm';
import { notifications } from '#drizzle/schema/notifications.ts';
import type { NotificationView } from '#shared/schemas/notifications.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import { actingUserId, type ServiceContext } from '../context.ts';

/** The columns a notification is shown with. */
export const notificationColumns = {
  id: notifications.id,
  type: notifications.type,
  severity: notifications.severity,
  title: notifications.title,
  message: notifications.message,
  data: notifications.data,
  isRead: notifications.isRead,
  readAt: notifications.readAt,
  createdAt: notifications.createdAt,
};

/** The caller's live notifications: every read and write here starts from this. */
export function ownNotifications(ctx: ServiceContext) {
  return and(eq(notifications.userId, actingUserId(ctx)), notDeleted(notifications));
}

export function toNotificationView(row: NotificationView): NotificationView {
  // A JSON column written by hand could hold a non-object; the API promises an object or null.
  const data = row.data !== null && typeof row.data === 'object' && !Array.isArray(row.data) ? row.data : null;
  return { ...row, data };
}
