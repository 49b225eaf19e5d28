/**
 * Channel targets: where a notification goes. Checked before storing (https, public addresses only, unless
 * ALLOW_PRIVATE_NOTIFY_TARGETS), stored as encrypted JSON bound to the row by `notification_channels:<id>`.
 */
import { type ChannelTarget, channelTarget } from '#shared/schemas/channels.ts';
import { aadFor, decryptSecret, encryptSecret } from '../../lib/crypto.ts';
import { env } from '../../lib/env.ts';
import { checkOutboundUrl, OutboundUrlError } from '../../lib/public-address.ts';
import { InvalidInput } from '../errors.ts';

/**
 * Refuses a target whose URL is not https or points at a non-public address. Resolves names, so call it before
 * opening a transaction. Telegram targets have no URL of their own (they go to api.telegram.org).
 */
export async function assertDeliverableTarget(target: ChannelTarget): Promise<void> {
  if (target.kind === 'telegram') return;
  try {
    await checkOutboundUrl(target.url, { allowPrivate: env.ALLOW_PRIVATE_NOTIFY_TARGETS });
  } catch (error) {
    if (error instanceof OutboundUrlError) throw new InvalidInput(error.message);
    throw error;
  }
}

export function sealTarget(channelId: number, target: ChannelTarget): string {
  return encryptSecret(JSON.stringify(target), aadFor('notification_channels', channelId));
}

/** Decrypts and re-validates a stored target; throws when the ciphertext belongs to another row or was altered. */
export function openTarget(channelId: number, sealed: string): ChannelTarget {
  return channelTarget.parse(JSON.parse(decryptSecret(sealed, aadFor('notification_channels', channelId))));
}

/** What the API may show of a target: the URL's host, or the last digits of a Telegram chat. */
export function targetHint(target: ChannelTarget): string {
  if (target.kind === 'telegram') {
    return target.chatId.startsWith('@') ? target.chatId : `chat …${target.chatId.slice(-4)}`;
  }
  return new URL(target.url).host;
}
