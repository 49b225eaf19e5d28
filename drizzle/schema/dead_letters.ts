import { foreignKey, index, int, mysqlEnum, mysqlTable, text, varchar } from 'drizzle-orm/mysql-core';
import { DEAD_LETTER_STATUSES } from '#shared/enums.ts';
import { id, json, ref, timestamps, utc } from './_columns.ts';
import { users } from './users.ts';

/**
 * Jobs that exhausted their attempts. user_id SET NULL: the row is an operator's record and must survive its
 * user (admins still list, replay or discard it); system jobs have no user at all. `resolved_by` is attribution
 * without a foreign key.
 */
export const deadLetters = mysqlTable(
  'dead_letters',
  {
    id: id(),
    queue: varchar('queue', { length: 64 }).notNull(),
    jobName: varchar('job_name', { length: 128 }).notNull(),
    jobId: varchar('job_id', { length: 255 }),
    userId: ref('user_id'),
    // The job's data as enqueued: ids only, never secrets (job payload rule).
    payload: json<Record<string, unknown>>('payload').notNull(),
    error: text('error').notNull(),
    attempts: int('attempts', { unsigned: true }).notNull().default(0),
    status: mysqlEnum('status', DEAD_LETTER_STATUSES).notNull().default('open'),
    resolvedBy: ref('resolved_by'),
    resolvedAt: utc('resolved_at'),
    ...timestamps(),
  },
  (t) => [
    foreignKey({ name: 'dead_letters_user_id_fk', columns: [t.userId], foreignColumns: [users.id] }).onDelete(
      'set null',
    ),
    // admin.deadLetters.list, the new-dead-letter alert and the retention purge: by status, oldest/newest first.
    index('dead_letters_status_created_at_idx').on(t.status, t.createdAt),
    // The owner's view of their open dead letters (also serves the FK).
    index('dead_letters_user_id_status_idx').on(t.userId, t.status),
  ],
);
