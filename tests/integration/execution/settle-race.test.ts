/**
 * A log's final status when two of its orders end at the same moment in separate transactions (a reversal's legs,
 * two routes): each transaction sees the other order still open, so the log is settled again after the commits and
 * never stays `executing` with every order final.
 */
import { eq, inArray } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { brokerConnections, brokerOrders, users, webhookLogs } from '../../../drizzle/schema/index.ts';
import type { BrokerOrder } from '../../../server/brokers/types.ts';
import { logger } from '../../../server/lib/logger.ts';
import type { ServiceContext } from '../../../server/services/context.ts';
import { finishOrder } from '../../../server/services/execution/finish-order.ts';
import { refreshOrder } from '../../../server/services/execution/poll-order.ts';
import { loadOrder, type OrderJobDeps } from '../../../server/services/execution/submit-order.ts';
import type { OrderStatus } from '../../../shared/enums.ts';
import { useTestDatabase } from '../../helpers/db.ts';
import { insertStrategy } from '../../helpers/fixtures.ts';

const { db } = useTestDatabase();
const ctx: ServiceContext = { db, log: logger, requestId: 'settle-race', actor: { type: 'system' } };
const deps: OrderJobDeps = {
  db,
  adapterFor: async () => {
    throw new Error('the broker is not asked: its answer is given');
  },
  enqueueSubmit: async () => undefined,
  enqueuePoll: async () => undefined,
};
const ROUNDS = 30;

async function makeBook() {
  const [user] = await db
    .insert(users)
    .values({ email: `race-${Date.now()}-${Math.random()}@example.com`, passwordHash: 'x', name: 'Race' })
    .$returningId();
  const userId = user?.id ?? 0;
  const strategyId = await insertStrategy(db, userId);
  const [connection] = await db
    .insert(brokerConnections)
    .values({ userId, broker: 'alpaca', name: 'Paper', credentialsEnc: 'v1:k:iv:tag:ct' })
    .$returningId();
  return { userId, strategyId, connectionId: connection?.id ?? 0 };
}

type Book = Awaited<ReturnType<typeof makeBook>>;

/** A log `executing` with two orders: the first in `status`, the second (its child when `child`) pending. */
async function logWithTwoOrders(book: Book, status: OrderStatus, child: boolean) {
  const [log] = await db
    .insert(webhookLogs)
    .values({ strategyId: book.strategyId, receivedAt: new Date(), rawBody: '{}', status: 'executing' })
    .$returningId();
  const webhookLogId = log?.id ?? 0;
  const order = (parentOrderId: number | null, orderStatus: OrderStatus, n: number) => ({
    userId: book.userId,
    strategyId: book.strategyId,
    brokerConnectionId: book.connectionId,
    webhookLogId,
    parentOrderId,
    clientOrderId: `race-${webhookLogId}-${n}`,
    brokerOrderId: orderStatus === 'pending' ? null : `b-${webhookLogId}-${n}`,
    symbol: 'AAPL',
    brokerSymbol: 'AAPL',
    side: 'buy' as const,
    intent: child ? ('reverse_close' as const) : ('open' as const),
    orderType: 'market' as const,
    tif: 'day' as const,
    quantity: '2',
    status: orderStatus,
  });
  const [first] = await db
    .insert(brokerOrders)
    .values(order(null, status, 1))
    .$returningId();
  const firstId = first?.id ?? 0;
  const [second] = await db
    .insert(brokerOrders)
    .values({ ...order(child ? firstId : null, 'pending', 2), intent: child ? 'reverse_open' : 'open' })
    .$returningId();
  return { webhookLogId, firstId, secondId: second?.id ?? 0 };
}

async function logStatuses(ids: number[]) {
  const rows = await db.select({ status: webhookLogs.status }).from(webhookLogs).where(inArray(webhookLogs.id, ids));
  return rows.map((row) => row.status);
}

describe('two orders of one log ending at once', () => {
  it('a reversal whose closing leg is rejected while its opening leg is cancelled ends the log failed', async () => {
    const book = await makeBook();
    const logs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { webhookLogId, firstId, secondId } = await logWithTwoOrders(book, 'submitting', true);
      logs.push(webhookLogId);
      await Promise.all([
        finishOrder(ctx, deps, firstId, { status: 'rejected', reason: 'insufficient buying power' }),
        finishOrder(ctx, deps, secondId, { status: 'cancelled', reason: 'cancel signal', onlyFrom: ['pending'] }),
      ]);
    }
    expect(new Set(await logStatuses(logs))).toEqual(new Set(['failed']));
  });

  it('one order filled by its poll while the other is cancelled ends the log executed', async () => {
    const book = await makeBook();
    const logs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { webhookLogId, firstId, secondId } = await logWithTwoOrders(book, 'accepted', false);
      logs.push(webhookLogId);
      const order = await loadOrder(db, firstId);
      const filled: BrokerOrder = {
        brokerOrderId: order.brokerOrderId ?? '',
        clientOrderId: order.clientOrderId,
        symbol: 'AAPL',
        side: 'buy',
        quantity: '2',
        orderType: 'market',
        status: 'filled',
        brokerStatus: 'filled',
        filledQty: '2',
        avgFillPrice: '100',
        limitPrice: null,
        stopPrice: null,
        submittedAt: new Date(),
        updatedAt: new Date(),
      };
      await Promise.all([
        refreshOrder(ctx, deps, order, { seen: filled }),
        finishOrder(ctx, deps, secondId, { status: 'cancelled', reason: 'cancel signal', onlyFrom: ['pending'] }),
      ]);
    }
    expect(new Set(await logStatuses(logs))).toEqual(new Set(['executed']));
    const [sample] = await db
      .select()
      .from(brokerOrders)
      .where(eq(brokerOrders.webhookLogId, logs[0] ?? 0));
    expect(sample?.status).toBe('filled');
  });
});
