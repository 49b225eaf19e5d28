import { and, desc, eq } from 'drizzle-orm';
import { deadLetters } from '#drizzle/schema/dead_letters.ts';
import type { Page } from '#shared/pagination.ts';
import type { DeadLetter, DeadLetterListInput } from '#shared/schemas/admin.ts';
import type { ServiceContext } from '../context.ts';
import { afterCursor, toPage } from '../pagination.ts';
import { deadLetterColumns, deadLetterScope } from './view.ts';

/**
 * admin.deadLetters.list: the caller's dead letters (every one for an administrator), newest first. An owner's
 * page is served by dead_letters_user_id_status_idx, an administrator's status filter by
 * dead_letters_status_created_at_idx; unfiltered pages walk the primary key.
 */
export async function listDeadLetters(ctx: ServiceContext, input: DeadLetterListInput): Promise<Page<DeadLetter>> {
  const scope = await deadLetterScope(ctx);
  const rows = await ctx.db
    .select(deadLetterColumns)
    .from(deadLetters)
    .where(
      and(
        scope.where,
        input.status === undefined ? undefined : eq(deadLetters.status, input.status),
        input.queue === undefined ? undefined : eq(deadLetters.queue, input.queue),
        afterCursor(deadLetters.id, input),
      ),
    )
    .orderBy(desc(deadLetters.id))
    .limit(input.limit + 1);
  return toPage(rows, input);
}
