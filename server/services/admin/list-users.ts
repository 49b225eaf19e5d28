import { and, desc, like, or } from 'drizzle-orm';
import { users } from '#drizzle/schema/users.ts';
import type { Page } from '#shared/pagination.ts';
import type { AdminUser, UserListInput } from '#shared/schemas/admin.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { ServiceContext } from '../context.ts';
import { afterCursor, toPage } from '../pagination.ts';
import { adminUserColumns } from './user-view.ts';

/** LIKE treats `%` and `_` as wildcards: escape them (and the escape character) so a search is literal. */
function containing(search: string): string {
  return `%${search.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/** Live accounts, newest first, optionally those whose email or name contains `search`. */
export async function listUsers(ctx: ServiceContext, input: UserListInput): Promise<Page<AdminUser>> {
  const pattern = input.search === undefined ? undefined : containing(input.search);
  const rows = await ctx.db
    .select(adminUserColumns)
    .from(users)
    .where(
      and(
        notDeleted(users),
        pattern === undefined ? undefined : or(like(users.email, pattern), like(users.name, pattern)),
        afterCursor(users.id, input),
      ),
    )
    .orderBy(desc(users.id))
    .limit(input.limit + 1);
  return toPage(rows, input);
}
