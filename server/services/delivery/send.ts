import type { ChannelTarget } from '#shared/schemas/channels.ts';
import { sendDiscord } from './discord.ts';
import type { DeliveryMessage } from './message.ts';
import { sendSlack } from './slack.ts';
import { sendTelegram } from './telegram.ts';
import { sendWebhook } from './webhook.ts';

/** Sends one message to a decrypted channel target; resolves once the service accepted it, throws a delivery error. */
export function sendToTarget(target: ChannelTarget, message: DeliveryMessage, signal: AbortSignal): Promise<void> {
  switch (target.kind) {
    case 'discord':
      return sendDiscord(target.url, message, signal);
    case 'slack':
      return sendSlack(target.url, message, signal);
    case 'telegram':
      return sendTelegram(target, message, signal);
    case 'webhook':
      return sendWebhook(target, message, signal);
  }
}

/** How a kind is named in messages to the trader. */
export const KIND_LABELS = { discord: 'Discord', slack: 'Slack', telegram: 'Telegram', webhook: 'Webhook' } as const;
