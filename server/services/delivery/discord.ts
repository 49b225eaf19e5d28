/** Discord incoming webhooks: POST <webhook URL> with one embed; 204 (or 200) on success. */
import type { NotificationSeverity } from '#shared/enums.ts';
import { asRecord, assertDelivered, postJson } from './http.ts';
import { clip, type DeliveryMessage } from './message.ts';

const COLORS: Record<NotificationSeverity, number> = {
  info: 0x3b82f6,
  success: 0x22c55e,
  warning: 0xf59e0b,
  error: 0xef4444,
};

/** Discord's embed limits: title 256, description 4096, footer 2048 characters. */
export function discordPayload(message: DeliveryMessage) {
  return {
    username: 'Fillpath',
    embeds: [
      {
        title: clip(message.title, 256),
        description: clip(message.message, 4096),
        color: COLORS[message.severity],
        timestamp: message.createdAt.toISOString(),
        footer: { text: message.type },
      },
    ],
    // Text from alerts and brokers must never ping @everyone or a role.
    allowed_mentions: { parse: [] },
  };
}

export async function sendDiscord(url: string, message: DeliveryMessage, signal: AbortSignal): Promise<void> {
  const response = await postJson(url, JSON.stringify(discordPayload(message)), {
    label: 'Discord',
    signal,
    target: 'user',
  });
  const reason = asRecord(response.json).message;
  assertDelivered('Discord', response, typeof reason === 'string' ? reason : null);
}
