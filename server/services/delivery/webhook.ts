/**
 * Generic webhooks: POST <URL> with the notification as JSON, signed like Stripe's webhooks so the receiver can
 * tell the request came from Fillpath and is recent:
 *
 *   X-Fillpath-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * The receiver recomputes v1 over the raw bytes it received (before parsing the JSON), compares in constant time
 * and refuses a `t` more than 5 minutes from its clock. `X-Fillpath-Delivery` (also the body's `deliveryId`) is the
 * same on every attempt of one delivery, so a receiver drops repeats by it. The secret is the channel's signing
 * secret (server/services/notifications/channel-secrets.ts).
 */
import { createHmac } from 'node:crypto';
import { DeliveryRefused } from './errors.ts';
import { assertDelivered, postJson } from './http.ts';
import { type DeliveryMessage, deliveryId } from './message.ts';

export const SIGNATURE_HEADER = 'X-Fillpath-Signature';
export const DELIVERY_HEADER = 'X-Fillpath-Delivery';
export const EVENT_HEADER = 'X-Fillpath-Event';

/** The JSON body a webhook receives. Field names are part of the public contract: add, never rename. */
export function webhookPayload(message: DeliveryMessage) {
  return {
    deliveryId: deliveryId(message),
    notificationId: message.notificationId,
    type: message.type,
    severity: message.severity,
    title: message.title,
    message: message.message,
    data: message.data ?? {},
    createdAt: message.createdAt.toISOString(),
  };
}

/** `t=<timestamp>,v1=<hex>` for `body` sent at `timestampS`. */
export function signatureHeader(secret: string, body: string, timestampS: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestampS}.${body}`, 'utf8').digest('hex');
  return `t=${timestampS},v1=${v1}`;
}

export async function sendWebhook(
  target: { url: string; secret?: string | undefined },
  message: DeliveryMessage,
  signal: AbortSignal,
  now: () => Date = () => new Date(),
): Promise<void> {
  // Every webhook channel gets a secret when it is saved; one stored before that rule is refused, not sent unsigned.
  if (!target.secret) {
    throw new DeliveryRefused('Webhook: the channel has no signing secret; update its target to set one');
  }
  const body = JSON.stringify(webhookPayload(message));
  const timestampS = Math.floor(now().getTime() / 1000);
  const response = await postJson(target.url, body, {
    label: 'Webhook',
    signal,
    target: 'user',
    headers: {
      [SIGNATURE_HEADER]: signatureHeader(target.secret, body, timestampS),
      [DELIVERY_HEADER]: deliveryId(message),
      [EVENT_HEADER]: message.type,
    },
  });
  // The receiver's body is not ours to echo into messages: the status says enough.
  assertDelivered('Webhook', response);
}
