/**
 * One delivery: one notification to one channel (the notify queue's `deliver-notification` job). Everything is read
 * again from the database, so a channel turned off, deleted, retargeted or unsubscribed since the dispatch gets
 * what it is now configured for. Failures are thrown for the job runner to retry (DeliveryFailed, rate limits) or
 * give up on (DeliveryRefused); when an attempt is the last one, the channel's health records it first.
 */
import { eq } from 'drizzle-orm';
import { notificationChannels } from '#drizzle/schema/notification_channels.ts';
import { notifications } from '#drizzle/schema/notifications.ts';
import { ServiceError } from '../../lib/service-error.ts';
import { openTarget } from '../channels/target.ts';
import type { ServiceContext } from '../context.ts';
import type { ChannelBreakers } from '../delivery/breakers.ts';
import { DeliveryRefused } from '../delivery/errors.ts';
import type { DeliveryMessage } from '../delivery/message.ts';
import { KIND_LABELS, sendToTarget } from '../delivery/send.ts';
import { recordChannelFailure, recordDeliverySuccess } from './channel-health.ts';
import { subscribes } from './dispatch.ts';

export interface DeliveryAttempt {
  /** No attempt follows this one if it fails with a retryable error. */
  last: boolean;
}

export type DeliveryOutcome =
  | { delivered: true }
  | { delivered: false; skipped: 'notification-gone' | 'channel-gone' | 'channel-inactive' | 'unsubscribed' };

export async function deliverNotification(
  ctx: ServiceContext,
  breakers: ChannelBreakers,
  ids: { notificationId: number; channelId: number },
  attempt: DeliveryAttempt,
): Promise<DeliveryOutcome> {
  const [notification] = await ctx.db.select().from(notifications).where(eq(notifications.id, ids.notificationId));
  if (!notification || notification.deletedAt !== null) return { delivered: false, skipped: 'notification-gone' };
  const [channel] = await ctx.db.select().from(notificationChannels).where(eq(notificationChannels.id, ids.channelId));
  if (!channel || channel.deletedAt !== null || channel.userId !== notification.userId) {
    return { delivered: false, skipped: 'channel-gone' };
  }
  if (!channel.isActive) return { delivered: false, skipped: 'channel-inactive' };
  if (!subscribes(channel.events, notification.type)) return { delivered: false, skipped: 'unsubscribed' };

  const message: DeliveryMessage = {
    notificationId: notification.id,
    channelId: channel.id,
    type: notification.type,
    severity: notification.severity,
    title: notification.title,
    message: notification.message,
    data: notification.data,
    createdAt: notification.createdAt,
  };
  const label = KIND_LABELS[channel.kind];
  try {
    let target: ReturnType<typeof openTarget>;
    try {
      target = openTarget(channel.id, channel.targetEnc);
    } catch {
      throw new DeliveryRefused(`${label}: the channel's target could not be decrypted; set it again`);
    }
    await breakers.run(channel.id, channel.targetEnc, label, (signal) => sendToTarget(target, message, signal));
  } catch (error) {
    // Only the channel's own failures count against it; anything else is ours, and the job runner logs it.
    if (error instanceof ServiceError && (attempt.last || !error.retryable)) {
      const { notified } = await recordChannelFailure(ctx, channel, error.message);
      ctx.log.warn({ notificationChannelId: channel.id, notified, reason: error.message }, 'channel delivery given up');
    }
    throw error;
  }
  await recordDeliverySuccess(ctx, channel.id);
  return { delivered: true };
}
