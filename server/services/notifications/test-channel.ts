import { notificationChannels } from '#drizzle/schema/notification_channels.ts';
import type { ChannelKind } from '#shared/enums.ts';
import { openTarget } from '../channels/target.ts';
import { ownedChannel } from '../channels/view.ts';
import type { ServiceContext } from '../context.ts';
import type { DeliveryMessage } from '../delivery/message.ts';
import { KIND_LABELS, sendToTarget } from '../delivery/send.ts';
import { InvalidInput, NotFound } from '../errors.ts';
import { clearChannelError } from './channel-health.ts';

// A test waits for the channel's answer; longer than this is a failure worth showing.
const TEST_TIMEOUT_MS = 10_000;

/**
 * Sends a test message to one of the caller's channels now, active or not, bypassing the queue and the worker's
 * breaker: the trader wants the channel's own answer. Success clears the channel's last error (a fixed channel
 * starts a new streak); a failure is thrown with the channel's reason and changes nothing.
 */
export async function testChannel(ctx: ServiceContext, id: number): Promise<{ ok: true; kind: ChannelKind }> {
  const [channel] = await ctx.db
    .select({
      id: notificationChannels.id,
      kind: notificationChannels.kind,
      name: notificationChannels.name,
      targetEnc: notificationChannels.targetEnc,
    })
    .from(notificationChannels)
    .where(ownedChannel(ctx, id));
  if (!channel) throw new NotFound('Notification channel');
  let target: ReturnType<typeof openTarget>;
  try {
    target = openTarget(channel.id, channel.targetEnc);
  } catch {
    throw new InvalidInput("The channel's target could not be read; set it again");
  }
  const message: DeliveryMessage = {
    notificationId: 0,
    channelId: channel.id,
    type: 'channel.test',
    severity: 'info',
    title: 'Fillpath test message',
    message: `This is a test of your ${KIND_LABELS[channel.kind]} channel "${channel.name}". Notifications will arrive here.`,
    data: { channelId: channel.id, test: true },
    createdAt: new Date(),
  };
  await sendToTarget(target, message, AbortSignal.timeout(TEST_TIMEOUT_MS));
  await clearChannelError(ctx, channel.id);
  return { ok: true as const, kind: channel.kind };
}
