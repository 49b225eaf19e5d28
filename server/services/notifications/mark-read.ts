import { and, eq, inArray, lte } from 'drizzle-orm';
import { notifications } from '#drizzle/schema/notifications.ts';
import type { MarkAllReadInput } from '#shared/schemas/notifications.ts';
import type { ServiceContext } from '../context.ts';
import { ownNotifications } from './view.ts';

// markAllRead updates in batches, so no statement locks more than this many rows.
const MARK_ALL_BATCH = 1_000;

/**
 * Marks the caller's notifications `ids` read. Ids that are not the caller's, deleted or already read are left
 * alone; the answer counts the rows that turned read.
 */
export async function markRead(ctx: ServiceContext, ids: number[]): Promise<{ updated: number }> {
  const [result] = await ctx.db
    .update(notifications)
    .set({ isRead: true, readAt: new Date() })
    .where(and(ownNotifications(ctx), inArray(notifications.id, ids), eq(notifications.isRead, false)));
  return { updated: result.affectedRows };
}

/** Marks every unread notification of the caller read (up to `upToId` when given), in bounded batches. */
export async function markAllRead(ctx: ServiceContext, input: MarkAllReadInput): Promise<{ updated: number }> {
  const unread = and(
    ownNotifications(ctx),
    eq(notifications.isRead, false),
    input.upToId === undefined ? undefined : lte(notifications.id, input.upToId),
  );
  const readAt = new Date();
  let updated = 0;
  for (;;) {
    const [result] = await ctx.db
      .update(notifications)
      .set({ isRead: true, readAt })
      .where(unread)
      .limit(MARK_ALL_BATCH);
    updated += result.affectedRows;
    if (result.affectedRows < MARK_ALL_BATCH) break;
  }
  return { updated };
}
