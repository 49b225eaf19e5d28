import { eq } from 'drizzle-orm';
import { notificationChannels } from '#drizzle/schema/notification_channels.ts';
import { emitAudit } from '../../audit/emit.ts';
import { softDeleteSet } from '../../db/soft-delete.ts';
import { withTransaction } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { auditChannel, loadChannelView } from './view.ts';

/** Soft-deletes a channel: nothing is delivered to it any more and its name is free again. */
export async function deleteChannel(ctx: ServiceContext, id: number): Promise<{ ok: true }> {
  return withTransaction(ctx, async (tx) => {
    const before = await loadChannelView(tx, ctx, id, { forUpdate: true });
    await tx
      .update(notificationChannels)
      .set({ ...softDeleteSet(actingUserId(ctx)), isActive: false })
      .where(eq(notificationChannels.id, id));
    await emitAudit(tx, ctx, {
      action: 'notification_channel.delete',
      resourceType: 'notification_channel',
      resourceId: id,
      oldValue: auditChannel(before),
    });
    return { ok: true as const };
  });
}
