import { index, mysqlEnum, mysqlTable, varchar } from 'drizzle-orm/mysql-core';
import { AUDIT_ACTOR_TYPES } from '#shared/enums.ts';
import { id, json, ref, timestamps } from './_columns.ts';

/**
 * Append-only audit trail, written in the same transaction as the change it describes. No foreign keys at all:
 * audit rows must outlive their subjects and actors, and a key would either block deletes or erase history.
 */
export const auditLogs = mysqlTable(
  'audit_logs',
  {
    id: id(),
    // The acting user (NULL for system and webhook actors).
    userId: ref('user_id'),
    actorType: mysqlEnum('actor_type', AUDIT_ACTOR_TYPES).notNull(),
    // `{resource}.{verb}`, e.g. `strategy.update`, `auth.login_failed`.
    action: varchar('action', { length: 64 }).notNull(),
    resourceType: varchar('resource_type', { length: 64 }),
    resourceId: varchar('resource_id', { length: 64 }),
    // Secrets are stripped before these are written.
    oldValue: json<Record<string, unknown>>('old_value'),
    newValue: json<Record<string, unknown>>('new_value'),
    // Long enough for any IPv6 text form, including IPv4-mapped addresses.
    ipAddress: varchar('ip_address', { length: 45 }),
    userAgent: varchar('user_agent', { length: 512 }),
    requestId: varchar('request_id', { length: 64 }),
    ...timestamps(),
  },
  (t) => [
    // admin.audit.list filtered by user, newest first.
    index('audit_logs_user_id_created_at_idx').on(t.userId, t.createdAt),
    // History of one resource (e.g. a strategy's changes), newest first.
    index('audit_logs_resource_type_resource_id_created_at_idx').on(t.resourceType, t.resourceId, t.createdAt),
  ],
);
