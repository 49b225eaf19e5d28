/**
 * Keyset pagination on the primary key, newest first: `WHERE id < cursor ORDER BY id DESC LIMIT limit + 1`. The
 * extra row tells whether another page exists without a COUNT; ids are never reused, so pages never overlap.
 */
import { lt, type SQL } from 'drizzle-orm';
import type { MySqlColumn } from 'drizzle-orm/mysql-core';
import type { Page, PaginationInput } from '#shared/pagination.ts';

/** The condition for "rows after the cursor", or undefined on the first page. */
export function afterCursor(idColumn: MySqlColumn, input: PaginationInput): SQL | undefined {
  return input.cursor === undefined ? undefined : lt(idColumn, input.cursor);
}

/** Turns the `limit + 1` rows a query fetched into a page. */
export function toPage<T extends { id: number }>(rows: T[], input: PaginationInput): Page<T> {
  const items = rows.slice(0, input.limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > input.limit && last ? last.id : null };
}
