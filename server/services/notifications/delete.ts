import { and, eq } from 'drizzle-orm';
import { notifications } from '#drizzle/schema/notifications.ts';
import { softDeleteSet } from '../../db/soft-delete.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { NotFound } from '../errors.ts';
import { ownNotifications } from './view.ts';

/**
 * Soft-deletes one of the caller's notifications; another user's id is NotFound like a missing one. A deleted
 * notification not yet dispatched is not delivered to channels either.
 */
export async function deleteNotification(ctx: ServiceContext, id: number): Promise<{ ok: true }> {
  const [result] = await ctx.db
    .update(notifications)
    .set(softDeleteSet(actingUserId(ctx)))
    .where(and(ownNotifications(ctx), eq(notifications.id, id)));
  if (result.affectedRows === 0) throw new NotFound('Notification');
  return { ok: true as const };
}
