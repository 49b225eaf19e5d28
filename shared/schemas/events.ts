import { z } from 'zod';
import { NOTIFICATION_SEVERITIES, ORDER_SIDES, ORDER_STATUSES, WEBHOOK_SOURCES } from '../enums.ts';

/**
 * The real-time events of `notifications.onEvent`: the caller's new notifications, their orders' progress and the
 * alerts their webhooks received. Each event is small and carries ids the app can load in full; none carries a
 * secret, a message body or another user's data.
 */

/**
 * An event id: the `<milliseconds>-<sequence>` id of the entry in the user's event stream. Ids only grow, so the last
 * one received is where a reconnection resumes (`lastEventId`).
 */
export const eventIdSchema = z.string().regex(/^\d{1,15}-\d{1,15}$/, 'must be an event id such as 1767225600000-0');

const id = z.number().int().positive();
/** Exact decimals as canonical strings ("1.5", "0"), never floats. */
const decimal = z.string();

/** A notification was written (the in-app list holds its message). */
export const notificationEvent = z.object({
  kind: z.literal('notification'),
  notificationId: id,
  /** A NOTIFICATION_TYPES value (a string for forward use, as in notificationView). */
  type: z.string(),
  severity: z.enum(NOTIFICATION_SEVERITIES),
  title: z.string(),
  /** Ids the app links to (orderId, strategyId…). */
  data: z.record(z.string(), z.unknown()).nullable(),
});

/** An order reached the broker, filled (partly or fully) or ended. */
export const orderEvent = z.object({
  kind: z.literal('order'),
  orderId: id,
  strategyId: id,
  webhookLogId: id.nullable(),
  status: z.enum(ORDER_STATUSES),
  side: z.enum(ORDER_SIDES),
  symbol: z.string(),
  quantity: decimal,
  filledQty: decimal,
  avgFillPrice: decimal.nullable(),
});

/** An alert reached a webhook (or webhooks.simulateSignal / replay) and was logged with this outcome. */
export const webhookEvent = z.object({
  kind: z.literal('webhook'),
  webhookLogId: id,
  strategyId: id,
  source: z.enum(WEBHOOK_SOURCES),
  status: z.enum(['accepted', 'duplicate', 'rejected']),
  /** Why it was refused (`invalid-passphrase`, `stale-signal`…); null unless rejected. */
  code: z.string().nullable(),
  /** The log this alert repeats; null unless duplicate. */
  duplicateOf: id.nullable(),
});

/** What is stored per event and checked again when read back. */
export const eventPayload = z.discriminatedUnion('kind', [notificationEvent, orderEvent, webhookEvent]);
export type EventPayload = z.infer<typeof eventPayload>;
export type NotificationEvent = z.infer<typeof notificationEvent>;
export type OrderEvent = z.infer<typeof orderEvent>;
export type WebhookEvent = z.infer<typeof webhookEvent>;

/** One event as onEvent yields it (inside `tracked(id, …)`): the payload and when it was published. */
export type AppEvent = EventPayload & { at: Date };

/**
 * `lastEventId` resumes after that event. The tRPC client fills it in on reconnection (and an EventSource sends it as
 * `Last-Event-ID`); an id older than what the stream still keeps resumes from the oldest event kept.
 */
export const onEventInput = z.strictObject({ lastEventId: eventIdSchema.nullish() }).optional();
export type OnEventInput = z.infer<typeof onEventInput>;
