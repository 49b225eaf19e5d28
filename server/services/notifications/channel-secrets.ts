/**
 * Every generic webhook channel signs its deliveries, with a secret stored inside its encrypted target (the
 * target's `secret`, bound to the row like the URL). A trader may bring their own; when a webhook target arrives
 * without one, the channel keeps its current secret (a new URL keeps the receiver's configuration) or, having
 * none, gets a new random one that the answer shows this once as `signingSecret`. Sending a target with a new
 * `secret` rotates it.
 */

import { notificationChannels } from '#drizzle/schema/notification_channels.ts';
import type { ChannelTarget, CreateChannelInput, SavedChannel, UpdateChannelInput } from '#shared/schemas/channels.ts';
import { randomToken } from '../../lib/crypto.ts';
import { createChannel } from '../channels/create.ts';
import { openTarget } from '../channels/target.ts';
import { updateChannel } from '../channels/update.ts';
import { ownedChannel } from '../channels/view.ts';
import type { ServiceContext } from '../context.ts';

/** 256 random bits, prefixed so a trader can tell what it is when pasting it into a receiver. */
export function newSigningSecret(): string {
  return `whsec_${randomToken(32)}`;
}

type Prepared<T> = { target: T; generated: string | null };

function withSecret(target: ChannelTarget, existing: string | null): Prepared<ChannelTarget> {
  if (target.kind !== 'webhook' || target.secret) return { target, generated: null };
  if (existing) return { target: { ...target, secret: existing }, generated: null };
  const generated = newSigningSecret();
  return { target: { ...target, secret: generated }, generated };
}

function saved<T extends object>(view: T, generated: string | null): T & { signingSecret?: string } {
  return generated === null ? view : { ...view, signingSecret: generated };
}

/** channels.create: a webhook without a secret gets one, returned once. */
export async function createChannelWithSecret(ctx: ServiceContext, input: CreateChannelInput): Promise<SavedChannel> {
  const { target, generated } = withSecret(input.target, null);
  return saved(await createChannel(ctx, { ...input, target }), generated);
}

/** channels.update: a new webhook target without a secret keeps the channel's secret, or gets one returned once. */
export async function updateChannelWithSecret(ctx: ServiceContext, input: UpdateChannelInput): Promise<SavedChannel> {
  if (input.target?.kind !== 'webhook' || input.target.secret) return updateChannel(ctx, input);
  const { target, generated } = withSecret(input.target, await currentWebhookSecret(ctx, input.id));
  return saved(await updateChannel(ctx, { ...input, target }), generated);
}

/**
 * The secret of the caller's webhook channel `id`, or null (another kind, none stored, or unreadable). A missing
 * channel is left for updateChannel to answer NotFound.
 */
async function currentWebhookSecret(ctx: ServiceContext, id: number): Promise<string | null> {
  const [row] = await ctx.db
    .select({ targetEnc: notificationChannels.targetEnc })
    .from(notificationChannels)
    .where(ownedChannel(ctx, id));
  if (!row) return null;
  try {
    const target = openTarget(id, row.targetEnc);
    return target.kind === 'webhook' ? (target.secret ?? null) : null;
  } catch {
    return null;
  }
}
