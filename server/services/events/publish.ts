/**
 * Publishing real-time events (notifications.onEvent, SPEC §8). Events come from many places with different deps —
 * the webhook route and webhooks.simulateSignal, the notification outbox, order submission, status polls and
 * cancellations, in the api and the worker — so instead of threading a publisher through each, every process installs
 * one sink at start (server/api.ts, server/worker.ts), as it sets up its logger. A process without a sink (most tests,
 * the scripts) publishes nothing.
 *
 * Publishing never fails or slows the change it reports: callers publish after their change committed, the call
 * returns at once, and a Redis failure is only logged. The database stays the truth: an app that missed an event
 * still finds the notification, order or log through the queries.
 */
import { eq } from 'drizzle-orm';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import type { NotificationSeverity } from '#shared/enums.ts';
import type { EventPayload, WebhookEvent } from '#shared/schemas/events.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import type { Logger } from '../../lib/logger.ts';
import { canonical } from '../execution/position-math.ts';

export interface EventSink {
  /** Appends the event to the user's stream; returns at once and never throws. */
  publish(userId: number, event: EventPayload): void;
}

let sink: EventSink | null = null;

/** Installs this process's sink (null removes it). Entry points call it once; tests that watch events too. */
export function setEventSink(next: EventSink | null): void {
  sink = next;
}

export function publishEvent(userId: number, event: EventPayload): void {
  sink?.publish(userId, event);
}

type OrderRow = typeof brokerOrders.$inferSelect;
export type OrderState = Pick<
  OrderRow,
  | 'id'
  | 'userId'
  | 'strategyId'
  | 'webhookLogId'
  | 'status'
  | 'side'
  | 'brokerSymbol'
  | 'quantity'
  | 'filledQty'
  | 'avgFillPrice'
>;

/** An order's state after a committed change (sent, filled, ended), as its owner's event. */
export function publishOrderUpdate(order: OrderState): void {
  if (!sink) return;
  sink.publish(order.userId, {
    kind: 'order',
    orderId: order.id,
    strategyId: order.strategyId,
    webhookLogId: order.webhookLogId,
    status: order.status,
    side: order.side,
    symbol: order.brokerSymbol,
    quantity: canonical(order.quantity),
    filledQty: canonical(order.filledQty),
    avgFillPrice: order.avgFillPrice === null ? null : canonical(order.avgFillPrice),
  });
}

/**
 * For a verb that changed an order without holding its row afterwards (finishOrder): reads the committed row by its
 * primary key and publishes it, in the background. Costs nothing when no sink is installed.
 */
export function announceOrder(ctx: { log: Logger }, db: DbOrTx, orderId: number): void {
  if (!sink) return;
  db.select({
    id: brokerOrders.id,
    userId: brokerOrders.userId,
    strategyId: brokerOrders.strategyId,
    webhookLogId: brokerOrders.webhookLogId,
    status: brokerOrders.status,
    side: brokerOrders.side,
    brokerSymbol: brokerOrders.brokerSymbol,
    quantity: brokerOrders.quantity,
    filledQty: brokerOrders.filledQty,
    avgFillPrice: brokerOrders.avgFillPrice,
  })
    .from(brokerOrders)
    .where(eq(brokerOrders.id, orderId))
    .then(
      ([row]) => {
        if (row) publishOrderUpdate(row);
      },
      (err: unknown) => ctx.log.warn({ err, orderId }, 'order event not published'),
    );
}

/** What the webhook pipeline logged for an alert: accepted, duplicate or rejected (with its code). */
export function publishWebhookReceipt(userId: number, receipt: Omit<WebhookEvent, 'kind'>): void {
  sink?.publish(userId, { kind: 'webhook', ...receipt });
}

export interface CommittedNotification {
  id: number;
  userId: number;
  type: string;
  severity: NotificationSeverity;
  title: string;
  data: Record<string, unknown> | null;
}

/** Notifications the outbox found committed (server/services/notifications/dispatch.ts), one event each. */
export function publishNotifications(rows: CommittedNotification[]): void {
  if (!sink) return;
  for (const row of rows) {
    sink.publish(row.userId, {
      kind: 'notification',
      notificationId: row.id,
      type: row.type,
      severity: row.severity,
      title: row.title,
      data: row.data,
    });
  }
}
