/**
 * Soft-delete helpers. Drizzle has no global filter, so every read of a soft-deletable table adds
 * `notDeleted(table)` to its where clause unless it deliberately asks for deleted rows.
 */
import { isNull, type SQL } from 'drizzle-orm';
import type { MySqlColumn } from 'drizzle-orm/mysql-core';

/** Any table built with the `softDelete()` columns of drizzle/schema/_columns.ts. */
export type SoftDeletable = { deletedAt: MySqlColumn };

/** `deleted_at IS NULL`: the row is live. */
export function notDeleted(table: SoftDeletable): SQL {
  return isNull(table.deletedAt);
}

/**
 * The `set` of a soft delete. The generated `live` column follows `deleted_at`, which frees the row's unique name.
 * `actorId` is the deleting user, or null for system jobs.
 */
export function softDeleteSet(
  actorId: number | null,
  at: Date = new Date(),
): { deletedAt: Date; deletedBy: number | null } {
  return { deletedAt: at, deletedBy: actorId };
}
