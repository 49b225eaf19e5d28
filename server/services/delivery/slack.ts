/** Slack incoming webhooks: POST <webhook URL> with `text` (mrkdwn); the answer is `ok` or an error word. */
import { assertDelivered, postJson } from './http.ts';
import { clip, type DeliveryMessage } from './message.ts';

const ICONS = { info: ':information_source:', success: ':white_check_mark:', warning: ':warning:', error: ':x:' };

/** Slack wants &, < and > escaped in text; everything else is sent as written. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function slackPayload(message: DeliveryMessage) {
  const title = escapeMrkdwn(clip(message.title, 200));
  const body = escapeMrkdwn(clip(message.message, 3_000));
  return {
    text: `${ICONS[message.severity]} *${title}*\n${body}`,
    unfurl_links: false,
    unfurl_media: false,
  };
}

export async function sendSlack(url: string, message: DeliveryMessage, signal: AbortSignal): Promise<void> {
  const response = await postJson(url, JSON.stringify(slackPayload(message)), {
    label: 'Slack',
    signal,
    target: 'user',
  });
  assertDelivered('Slack', response, response.text);
}
