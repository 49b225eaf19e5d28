import { boolean, foreignKey, mysqlEnum, mysqlTable, text, uniqueIndex, varchar } from 'drizzle-orm/mysql-core';
import { CHANNEL_KINDS } from '#shared/enums.ts';
import { id, json, ref, softDelete, timestamps, utc } from './_columns.ts';
import { users } from './users.ts';

/**
 * Outbound delivery targets (Discord, Slack, Telegram, generic webhook). user_id CASCADE: personal settings that
 * mean nothing without their user.
 */
export const notificationChannels = mysqlTable(
  'notification_channels',
  {
    id: id(),
    userId: ref('user_id').notNull(),
    kind: mysqlEnum('kind', CHANNEL_KINDS).notNull(),
    name: varchar('name', { length: 100 }).notNull(),
    // Encrypted like broker credentials: a webhook URL or bot token is a secret.
    targetEnc: text('target_enc').notNull(),
    // Notification types delivered to this channel; NULL means all.
    events: json<string[]>('events'),
    isActive: boolean('is_active').notNull().default(true),
    lastError: varchar('last_error', { length: 1000 }),
    lastDeliveredAt: utc('last_delivered_at'),
    ...timestamps(),
    ...softDelete(),
  },
  (t) => [
    foreignKey({ name: 'notification_channels_user_id_fk', columns: [t.userId], foreignColumns: [users.id] }).onDelete(
      'cascade',
    ),
    // channels.list / create: names are unique among a user's live channels (also serves the FK).
    uniqueIndex('notification_channels_user_id_name_live_uq').on(t.userId, t.name, t.live),
  ],
);
