import { z } from 'zod';
import { NOTIFICATION_SEVERITIES } from '../enums.ts';
import { paginationInput } from '../pagination.ts';
import { idSchema } from './common.ts';

/** One in-app notification as the API shows it. `type` is a NOTIFICATION_TYPES value (a string for forward use). */
export const notificationView = z.object({
  id: z.number(),
  type: z.string(),
  severity: z.enum(NOTIFICATION_SEVERITIES),
  title: z.string(),
  message: z.string(),
  /** Ids the app links to (orderId, strategyId, channelId, deadLetterId…). */
  data: z.record(z.string(), z.unknown()).nullable(),
  isRead: z.boolean(),
  readAt: z.date().nullable(),
  createdAt: z.date(),
});
export type NotificationView = z.infer<typeof notificationView>;

/** The unread count stops at this value: a badge shows "1000+" rather than the server counting without bound. */
export const UNREAD_COUNT_CAP = 1_000;

export const getUnreadInput = z
  .strictObject({ limit: z.number().int().min(1).max(100).default(20) })
  .default({ limit: 20 });

export const unreadNotifications = z.object({
  items: z.array(notificationView),
  /** Unread notifications in all, at most UNREAD_COUNT_CAP. */
  unreadCount: z.number(),
});
export type UnreadNotifications = z.infer<typeof unreadNotifications>;

export const listNotificationsInput = paginationInput
  .extend({ unreadOnly: z.boolean().default(false) })
  .strict()
  .default({ limit: 25, unreadOnly: false });
export type ListNotificationsInput = z.infer<typeof listNotificationsInput>;

export const notificationPage = z.object({ items: z.array(notificationView), nextCursor: z.number().nullable() });

export const markReadInput = z.strictObject({
  ids: z
    .array(idSchema)
    .min(1)
    .max(100)
    .transform((ids) => [...new Set(ids)]),
});

/** `upToId`: only notifications up to this id, so one that arrived after the list was shown stays unread. */
export const markAllReadInput = z.strictObject({ upToId: idSchema.optional() }).default({});
export type MarkAllReadInput = z.infer<typeof markAllReadInput>;

export const markReadResult = z.object({ updated: z.number() });

export const notificationIdInput = z.strictObject({ id: idSchema });
