import { foreignKey, index, mysqlTable, uniqueIndex, varchar } from 'drizzle-orm/mysql-core';
import { id, ref, timestamps, utc } from './_columns.ts';
import { users } from './users.ts';

/**
 * Refresh-token sessions. ON DELETE CASCADE: sessions are personal ephemera with no value once the user is gone.
 * `replaced_by` (the session that rotated this one) has no foreign key on purpose: a self-referencing SET NULL
 * inside the user cascade is exactly the recursion InnoDB refuses, and reuse detection only needs the value.
 */
export const sessions = mysqlTable(
  'sessions',
  {
    id: id(),
    userId: ref('user_id').notNull(),
    // All tokens descending from one login; reuse of a rotated token revokes the whole family.
    familyId: varchar('family_id', { length: 64 }).notNull(),
    // SHA-256 hex of the opaque refresh token; the token itself is never stored.
    refreshTokenHash: varchar('refresh_token_hash', { length: 64 }).notNull(),
    replacedBy: ref('replaced_by'),
    expiresAt: utc('expires_at').notNull(),
    revokedAt: utc('revoked_at'),
    ip: varchar('ip', { length: 45 }),
    userAgent: varchar('user_agent', { length: 512 }),
    ...timestamps(),
  },
  (t) => [
    foreignKey({ name: 'sessions_user_id_fk', columns: [t.userId], foreignColumns: [users.id] }).onDelete('cascade'),
    uniqueIndex('sessions_refresh_token_hash_uq').on(t.refreshTokenHash),
    index('sessions_family_id_idx').on(t.familyId),
    index('sessions_user_id_idx').on(t.userId),
    // The purge job finds expired and revoked sessions through these; without them each batch is a locking scan.
    index('sessions_expires_at_idx').on(t.expiresAt),
    index('sessions_revoked_at_idx').on(t.revokedAt),
  ],
);
