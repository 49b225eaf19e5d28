/**
 * A channel's delivery health as the trader sees it: `last_error` is set when a delivery has used up its attempts
 * (or was refused outright) and cleared by the next success. The first failure of a streak, the moment
 * `last_error` goes from NULL to set, also writes one in-app `channel.failing` notification; later failures of the
 * same streak only refresh the message.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { notificationChannels } from '#drizzle/schema/notification_channels.ts';
import type { ChannelKind } from '#shared/enums.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import { withTransaction } from '../../db/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { KIND_LABELS } from '../delivery/send.ts';
import { clipChars, createNotification } from './create.ts';

/** notification_channels.last_error is varchar(1000). */
const LAST_ERROR_MAX_CHARS = 1_000;

export interface ChannelRef {
  id: number;
  userId: number;
  kind: ChannelKind;
  name: string;
}

/** Records a successful delivery: the streak, if any, is over. */
export async function recordDeliverySuccess(ctx: ServiceContext, channelId: number, at = new Date()): Promise<void> {
  await ctx.db
    .update(notificationChannels)
    .set({ lastError: null, lastDeliveredAt: at })
    .where(eq(notificationChannels.id, channelId));
}

/** Clears a channel's error without recording a delivery (a successful test message). */
export async function clearChannelError(ctx: ServiceContext, channelId: number): Promise<void> {
  await ctx.db.update(notificationChannels).set({ lastError: null }).where(eq(notificationChannels.id, channelId));
}

/**
 * Records a delivery given up on. Returns whether this failure started a streak (and so notified the trader). The
 * conditional update decides it: of two failures at once, only the one that finds `last_error` NULL notifies.
 */
export async function recordChannelFailure(
  ctx: ServiceContext,
  channel: ChannelRef,
  reason: string,
): Promise<{ notified: boolean }> {
  const lastError = clipChars(reason, LAST_ERROR_MAX_CHARS);
  const live = and(eq(notificationChannels.id, channel.id), notDeleted(notificationChannels));
  return withTransaction(ctx, async (tx) => {
    const [started] = await tx
      .update(notificationChannels)
      .set({ lastError })
      .where(and(live, isNull(notificationChannels.lastError)));
    if (started.affectedRows === 0) {
      await tx.update(notificationChannels).set({ lastError }).where(live);
      return { notified: false };
    }
    const kind = KIND_LABELS[channel.kind];
    await createNotification(tx, {
      userId: channel.userId,
      type: 'channel.failing',
      severity: 'error',
      title: `Notification channel "${channel.name}" is failing`,
      message:
        `Deliveries to your ${kind} channel "${channel.name}" are failing: ${reason}. ` +
        'New notifications are still tried; check the channel settings and send a test message once it is fixed.',
      data: { channelId: channel.id },
    });
    return { notified: true };
  });
}
