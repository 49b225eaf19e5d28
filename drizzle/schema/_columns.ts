/**
 * Column helpers shared by every table, so the rules of SPEC §3 live in one place: bigint unsigned ids in number
 * mode, datetime(3) UTC timestamps, decimal(20,8) money in string mode, a JSON type that tolerates MariaDB, and
 * the soft-delete trio (deleted_at, deleted_by, live).
 */
import { sql } from 'drizzle-orm';
import { bigint, customType, datetime, decimal, tinyint } from 'drizzle-orm/mysql-core';

/** Auto-increment primary key. Number mode is safe: ids stay far below 2^53. */
export const id = () => bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey();

/** A column pointing at another table's `id` (same type, so InnoDB accepts the foreign key). */
export const ref = (name: string) => bigint(name, { mode: 'number', unsigned: true });

/**
 * UTC instant with millisecond precision. Drizzle maps it to `Date` assuming the stored text is UTC, which is why
 * every connection sets `time_zone = '+00:00'`.
 */
export const utc = (name: string) => datetime(name, { mode: 'date', fsp: 3 });

/**
 * Money, prices and quantities: decimal(20,8) kept as strings end to end so they never pass through a float.
 * 12 integer digits cover any notional we trade; 8 decimals cover crypto lot sizes.
 */
export const money = (name: string) => decimal(name, { precision: 20, scale: 8, mode: 'string' });

export const createdAt = () => utc('created_at').notNull().default(sql`CURRENT_TIMESTAMP(3)`);

/**
 * drizzle's `onUpdateNow()` exists only on timestamp columns, and drizzle-kit writes it without a precision, which
 * MySQL 8 rejects on a datetime(3) ("the same fsp must be used throughout the column definition"). Putting the ON
 * UPDATE clause in the default expression makes drizzle-kit emit exactly
 * `DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)`; at runtime drizzle never inlines SQL defaults
 * (it sends `default`), so the trick is invisible to queries.
 */
export const updatedAt = () =>
  utc('updated_at').notNull().default(sql`CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)`);

export const timestamps = () => ({ createdAt: createdAt(), updatedAt: updatedAt() });

/**
 * Soft delete. `live` is 1 while the row is live and NULL once deleted; unique keys end with it, and since NULLs
 * never collide in a unique index, a deleted row frees its name for reuse. `deleted_by` is a plain user id with no
 * foreign key, like audit rows: the attribution must outlive the actor.
 */
export const softDelete = () => ({
  deletedAt: utc('deleted_at'),
  deletedBy: ref('deleted_by'),
  live: tinyint('live').generatedAlwaysAs(sql`if(deleted_at is null,1,null)`, { mode: 'virtual' }),
});

/**
 * JSON column. On MariaDB `json` is LONGTEXT with a json_valid CHECK; depending on the client's metadata support
 * and the mysql2 `jsonStrings` option the driver hands back either text or an already-parsed value, so accept both.
 * A text value that does not parse is a top-level JSON string the driver already decoded: return it unchanged.
 * Store objects or arrays at the top level so the two cases can never be confused.
 */
export const json = <T>(name: string) =>
  customType<{ data: T; driverData: unknown }>({
    dataType: () => 'json',
    toDriver: (value) => JSON.stringify(value),
    fromDriver: (value) => {
      if (typeof value !== 'string') return value as T;
      try {
        return JSON.parse(value) as T;
      } catch {
        return value as T;
      }
    },
  })(name);
