/** Rows the dead-letter tests hang their jobs on: a user's strategy, connection, order, log and notification. */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { auditLogs } from '../../../drizzle/schema/audit_logs.ts';
import { brokerConnections } from '../../../drizzle/schema/broker_connections.ts';
import { brokerOrders } from '../../../drizzle/schema/broker_orders.ts';
import { deadLetters } from '../../../drizzle/schema/dead_letters.ts';
import { notifications } from '../../../drizzle/schema/notifications.ts';
import { users } from '../../../drizzle/schema/users.ts';
import { webhookLogs } from '../../../drizzle/schema/webhook_logs.ts';
import type { Database } from '../../../server/db/client.ts';
import { logger } from '../../../server/lib/logger.ts';
import type { ServiceContext } from '../../../server/services/context.ts';
import { insertStrategy } from '../../helpers/fixtures.ts';

export interface OwnedRows {
  userId: number;
  strategyId: number;
  connectionId: number;
  orderId: number;
  webhookLogId: number;
  notificationId: number;
}

function idOf(rows: { id: number }[]): number {
  const id = rows[0]?.id;
  if (id === undefined) throw new Error('insert returned no id');
  return id;
}

export async function insertUser(db: Database, name = 'Dead Letters'): Promise<number> {
  return idOf(
    await db
      .insert(users)
      .values({ email: `${randomUUID()}@example.com`, passwordHash: 'x', name })
      .$returningId(),
  );
}

/** One of each row a job payload can name, all owned by `userId` (a new user when omitted). */
export async function insertOwnedRows(db: Database, userId?: number): Promise<OwnedRows> {
  const owner = userId ?? (await insertUser(db));
  const strategyId = await insertStrategy(db, owner);
  const connectionId = idOf(
    await db
      .insert(brokerConnections)
      .values({ userId: owner, broker: 'alpaca', name: `C-${randomUUID().slice(0, 8)}`, credentialsEnc: 'unused' })
      .$returningId(),
  );
  const orderId = idOf(
    await db
      .insert(brokerOrders)
      .values({
        userId: owner,
        strategyId,
        brokerConnectionId: connectionId,
        symbol: 'AAPL',
        brokerSymbol: 'AAPL',
        side: 'buy',
        intent: 'open',
        orderType: 'market',
        tif: 'day',
        quantity: '1',
        status: 'failed',
      })
      .$returningId(),
  );
  const webhookLogId = idOf(
    await db
      .insert(webhookLogs)
      .values({ strategyId, receivedAt: new Date(), rawBody: '{}', status: 'failed' })
      .$returningId(),
  );
  const notificationId = idOf(
    await db
      .insert(notifications)
      .values({ userId: owner, type: 'order.filled', title: 'Filled', message: 'Filled' })
      .$returningId(),
  );
  return { userId: owner, strategyId, connectionId, orderId, webhookLogId, notificationId };
}

/** A service context acting as a job, as the processor runner builds it. */
export function systemContext(db: Database): ServiceContext {
  return { db, log: logger, requestId: 'job:test', actor: { type: 'system', job: 'record-dead-letter' } };
}

export async function orderStatus(db: Database, orderId: number) {
  const [row] = await db.select({ status: brokerOrders.status }).from(brokerOrders).where(eq(brokerOrders.id, orderId));
  return row?.status;
}

export async function deadLetterRow(db: Database, id: number) {
  const [row] = await db.select().from(deadLetters).where(eq(deadLetters.id, id));
  return row;
}

/** The audit rows written about dead letter `id`, oldest first. */
export async function deadLetterAudits(db: Database, id: number) {
  const rows = await db
    .select()
    .from(auditLogs)
    .where(eq(auditLogs.resourceId, String(id)));
  return rows.filter((row) => row.resourceType === 'dead_letter').sort((a, b) => a.id - b.id);
}
