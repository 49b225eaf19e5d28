import { boolean, mysqlEnum, mysqlTable, uniqueIndex, varchar } from 'drizzle-orm/mysql-core';
import { USER_ROLES } from '#shared/enums.ts';
import { id, ref, softDelete, timestamps, utc } from './_columns.ts';

/** No foreign keys out. Tables pointing here decide what a hard delete of a user does (see their comments). */
export const users = mysqlTable(
  'users',
  {
    id: id(),
    // RFC 5321 caps a forward path at 254 characters; the utf8mb4_unicode_ci collation makes the key case-blind.
    email: varchar('email', { length: 254 }).notNull(),
    passwordHash: varchar('password_hash', { length: 255 }).notNull(),
    name: varchar('name', { length: 100 }).notNull(),
    role: mysqlEnum('role', USER_ROLES).notNull().default('user'),
    // The trader's own kill switch: when false no signal of this user becomes an order.
    tradingEnabled: boolean('trading_enabled').notNull().default(true),
    // The admins' stop, which the trader cannot lift: while set no signal of this user becomes an order, whatever
    // trading_enabled says. `trading_locked_by` is the admin's id with no foreign key, like deleted_by.
    tradingLockedAt: utc('trading_locked_at'),
    tradingLockedBy: ref('trading_locked_by'),
    // Set by admin users.disable; a disabled user cannot log in or refresh.
    disabledAt: utc('disabled_at'),
    lastLoginAt: utc('last_login_at'),
    ...timestamps(),
    ...softDelete(),
  },
  (t) => [
    // Login and registration: one live account per address; a deleted account frees it.
    uniqueIndex('users_email_live_uq').on(t.email, t.live),
  ],
);
