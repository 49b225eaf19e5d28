import { eq } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import { notifications } from '#drizzle/schema/notifications.ts';
import { strategies } from '#drizzle/schema/strategies.ts';
import { webhookLogs } from '#drizzle/schema/webhook_logs.ts';
import { idSchema } from '#shared/schemas/common.ts';
import type { DbOrTx } from '../../db/transaction.ts';

/** The positive integer id stored under `key`, or null when the payload has none (it is stored data, not trusted). */
function idIn(payload: Record<string, unknown>, key: string): number | null {
  const parsed = idSchema.safeParse(payload[key]);
  return parsed.success ? parsed.data : null;
}

async function first(rows: Promise<{ userId: number }[]>): Promise<number | null> {
  const [row] = await rows;
  return row?.userId ?? null;
}

/**
 * The user a dead job belongs to, found from the ids in its payload (shared/jobs.ts), or null for system jobs,
 * payloads without the id, and rows that no longer exist. Soft-deleted rows still count: deleting a strategy or
 * a connection does not change whose failed job it was. One primary-key lookup (two tables for signals).
 */
export async function deadLetterOwner(
  db: DbOrTx,
  queue: string,
  payload: Record<string, unknown>,
): Promise<number | null> {
  switch (queue) {
    case 'orders':
    case 'order-status': {
      const orderId = idIn(payload, 'orderId');
      if (orderId === null) return null;
      return first(
        db.select({ userId: brokerOrders.userId }).from(brokerOrders).where(eq(brokerOrders.id, orderId)).limit(1),
      );
    }
    case 'signals': {
      const webhookLogId = idIn(payload, 'webhookLogId');
      if (webhookLogId === null) return null;
      return first(
        db
          .select({ userId: strategies.userId })
          .from(webhookLogs)
          .innerJoin(strategies, eq(strategies.id, webhookLogs.strategyId))
          .where(eq(webhookLogs.id, webhookLogId))
          .limit(1),
      );
    }
    case 'reconcile':
    case 'sessions': {
      const connectionId = idIn(payload, 'connectionId');
      if (connectionId === null) return null;
      return first(
        db
          .select({ userId: brokerConnections.userId })
          .from(brokerConnections)
          .where(eq(brokerConnections.id, connectionId))
          .limit(1),
      );
    }
    case 'notify': {
      const notificationId = idIn(payload, 'notificationId');
      if (notificationId === null) return null;
      return first(
        db
          .select({ userId: notifications.userId })
          .from(notifications)
          .where(eq(notifications.id, notificationId))
          .limit(1),
      );
    }
    default:
      return null;
  }
}
