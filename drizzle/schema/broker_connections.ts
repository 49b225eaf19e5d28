import { foreignKey, mysqlEnum, mysqlTable, text, uniqueIndex, varchar } from 'drizzle-orm/mysql-core';
import { BROKER_ENVIRONMENTS, BROKERS, CONNECTION_STATUSES } from '#shared/enums.ts';
import { id, ref, softDelete, timestamps, utc } from './_columns.ts';
import { users } from './users.ts';

/**
 * A user's account at a broker. user_id RESTRICT: a connection is referenced by orders, trades and positions and
 * holds credentials; "disconnect" is a soft delete, and a user who has one cannot be hard-deleted.
 */
export const brokerConnections = mysqlTable(
  'broker_connections',
  {
    id: id(),
    userId: ref('user_id').notNull(),
    broker: mysqlEnum('broker', BROKERS).notNull(),
    name: varchar('name', { length: 100 }).notNull(),
    environment: mysqlEnum('environment', BROKER_ENVIRONMENTS).notNull().default('paper'),
    // AES-256-GCM `v1:<kid>:<iv>:<tag>:<ct>` of a JSON credential object, the row id as AAD.
    credentialsEnc: text('credentials_enc').notNull(),
    accountId: varchar('account_id', { length: 64 }),
    status: mysqlEnum('status', CONNECTION_STATUSES).notNull().default('unknown'),
    statusMessage: varchar('status_message', { length: 500 }),
    lastCheckedAt: utc('last_checked_at'),
    sessionExpiresAt: utc('session_expires_at'),
    ...timestamps(),
    ...softDelete(),
  },
  (t) => [
    foreignKey({ name: 'broker_connections_user_id_fk', columns: [t.userId], foreignColumns: [users.id] }).onDelete(
      'restrict',
    ),
    // brokers.getConnections / connect: names are unique among a user's live connections (serves the FK too).
    uniqueIndex('broker_connections_user_id_name_live_uq').on(t.userId, t.name, t.live),
  ],
);
