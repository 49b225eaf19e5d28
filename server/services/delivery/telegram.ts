/**
 * Telegram Bot API `sendMessage` (TELEGRAM_API_URL/bot<token>/sendMessage) as HTML. The bot token is part of the
 * URL: it never appears in an error message.
 */
import { env } from '../../lib/env.ts';
import { DeliveryFailed } from './errors.ts';
import { asRecord, assertDelivered, postJson } from './http.ts';
import { clip, type DeliveryMessage } from './message.ts';

const ICONS = { info: 'ℹ️', success: '✅', warning: '⚠️', error: '❌' };

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Telegram counts at most 4096 characters after entity parsing; title and message are clipped to fit together. */
export function telegramPayload(chatId: string, message: DeliveryMessage) {
  const title = clip(message.title, 256);
  const body = clip(message.message, 4_096 - title.length - 8);
  return {
    chat_id: chatId,
    text: `${ICONS[message.severity]} <b>${escapeHtml(title)}</b>\n${escapeHtml(body)}`,
    parse_mode: 'HTML',
    link_preview_options: { is_disabled: true },
  };
}

export async function sendTelegram(
  target: { botToken: string; chatId: string },
  message: DeliveryMessage,
  signal: AbortSignal,
): Promise<void> {
  const url = `${env.TELEGRAM_API_URL}/bot${target.botToken}/sendMessage`;
  const response = await postJson(url, JSON.stringify(telegramPayload(target.chatId, message)), {
    label: 'Telegram',
    signal,
    target: 'configured',
  });
  const answer = asRecord(response.json);
  const description = typeof answer.description === 'string' ? answer.description : null;
  assertDelivered('Telegram', response, description);
  // Telegram answers 200 with ok:true; anything else is not a delivery.
  if (answer.ok !== true) throw new DeliveryFailed('Telegram answered without ok: true');
}
