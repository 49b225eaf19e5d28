import { boolean, foreignKey, index, mysqlEnum, mysqlTable, text, varchar } from 'drizzle-orm/mysql-core';
import { NOTIFICATION_SEVERITIES } from '#shared/enums.ts';
import { id, json, ref, softDelete, timestamps, utc } from './_columns.ts';
import { users } from './users.ts';

/**
 * In-app notifications. user_id CASCADE: they are personal ephemera; the durable record of what happened lives in
 * orders, fills and audit rows. The read flag is `is_read` because READ is a reserved word in MySQL.
 */
export const notifications = mysqlTable(
  'notifications',
  {
    id: id(),
    userId: ref('user_id').notNull(),
    // Dotted event name, e.g. `order.filled`, `broker.session_expired`; also the channel subscription key.
    type: varchar('type', { length: 64 }).notNull(),
    severity: mysqlEnum('severity', NOTIFICATION_SEVERITIES).notNull().default('info'),
    title: varchar('title', { length: 200 }).notNull(),
    message: text('message').notNull(),
    // Ids the app links to (orderId, strategyId, …); never secrets.
    data: json<Record<string, unknown>>('data'),
    isRead: boolean('is_read').notNull().default(false),
    readAt: utc('read_at'),
    // Outbox mark: NULL until the dispatch sweep has enqueued this notification's channel deliveries. Notifications
    // are written inside the transactions of the changes they report, so delivery starts from committed rows only.
    dispatchedAt: utc('dispatched_at'),
    ...timestamps(),
    ...softDelete(),
  },
  (t) => [
    foreignKey({ name: 'notifications_user_id_fk', columns: [t.userId], foreignColumns: [users.id] }).onDelete(
      'cascade',
    ),
    // notifications.getUnread / list: a user's (unread) notifications newest first (also serves the FK).
    index('notifications_user_id_is_read_created_at_idx').on(t.userId, t.isRead, t.createdAt),
    // notifications.list: a user's notifications by id, newest first, paged on id.
    index('notifications_user_id_id_idx').on(t.userId, t.id),
    // The dispatch sweep: undispatched rows oldest first, a range read on dispatched_at IS NULL.
    index('notifications_dispatched_at_id_idx').on(t.dispatchedAt, t.id),
  ],
);
