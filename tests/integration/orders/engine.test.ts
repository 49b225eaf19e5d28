/**
 * Order actions against the engine and the fake Alpaca (execution harness): brokers.cancelOrder of a working order
 * cancels it at the broker and, once its status poll sees that, locally; of an order not yet sent (a reversal's
 * opening leg), before anything reaches the broker. A replayed dead letter of a submit whose last attempt reached the broker but lost its answer
 * puts the order back to pending and submits it exactly once: the look-up by client id finds the first one.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { brokerOrders } from '../../../drizzle/schema/broker_orders.ts';
import { executionDeps } from '../../../server/jobs/processors/execution-deps.ts';
import { logger } from '../../../server/lib/logger.ts';
import type { ServiceContext } from '../../../server/services/context.ts';
import { recordDeadLetter } from '../../../server/services/dead-letters/record.ts';
import { submitOrder } from '../../../server/services/execution/send-order.ts';
import { orderJobId } from '../../../shared/jobs.ts';
import { waitFor } from '../../helpers/app.ts';
import { trpcFailure } from '../../helpers/client.ts';
import {
  type ExecutionHarness,
  logSettles,
  ordersOfLog,
  positionOf,
  setupAlpacaStrategy,
  startExecutionHarness,
} from '../../helpers/execution.ts';

let harness: ExecutionHarness;
beforeAll(async () => {
  harness = await startExecutionHarness();
});
afterAll(() => harness.close());
beforeEach(() => {
  harness.alpaca.controls.reset();
  harness.alpaca.controls.setPrice('AAPL', '100');
});

const db = () => harness.server.deps.database.db;
const FINAL = ['executed', 'failed', 'ignored', 'rejected'];
const systemCtx = (): ServiceContext => ({
  db: db(),
  log: logger,
  requestId: 'orders-engine-test',
  actor: { type: 'system' },
});

async function orderRow(id: number) {
  const [row] = await db().select().from(brokerOrders).where(eq(brokerOrders.id, id));
  if (!row) throw new Error(`order ${id} not found`);
  return row;
}

/** Sends a buy and returns its only order once the engine has written it. */
async function buy(routed: Awaited<ReturnType<typeof setupAlpacaStrategy>>, quantity: string) {
  const answer = await routed.send({ ticker: 'AAPL', action: 'buy', quantity });
  expect(answer.status).toBe(202);
  const logId = Number(answer.body.id);
  await logSettles(harness, logId, ['executing', ...FINAL]);
  const [order] = await ordersOfLog(harness, logId);
  if (!order) throw new Error(`log ${logId} wrote no order`);
  return { logId, orderId: order.id };
}

/** Holds the orders queue while `during` runs, so submit jobs wait. */
async function withSubmitsHeld<T>(during: () => Promise<T>): Promise<T> {
  await harness.server.queues.orders.pause();
  try {
    return await during();
  } finally {
    await harness.server.queues.orders.resume();
  }
}

describe('brokers.cancelOrder', () => {
  it('cancels a working order at the broker, and locally once its status poll sees it', async () => {
    harness.alpaca.controls.configureFills({ mode: 'manual' });
    const routed = await setupAlpacaStrategy(harness);
    const { logId, orderId } = await buy(routed, '2');
    await waitFor(async () => (await orderRow(orderId)).brokerOrderId !== null, 10_000, 25);

    const answer = await routed.trader.client.brokers.cancelOrder.mutate({ id: orderId });
    expect(answer).toMatchObject({ id: orderId, outcome: 'cancel-requested' });
    const [atBroker] = harness.alpaca.controls.ordersByClientId(`fp-${orderId}`);
    expect(atBroker?.status).toBe('cancelled');

    await waitFor(async () => (await orderRow(orderId)).status === 'cancelled', 15_000, 50);
    expect(await logSettles(harness, logId, FINAL)).toMatchObject({ status: 'failed', errorCode: 'order-failed' });
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
    const listed = await routed.trader.client.brokers.getOrders.query({ status: 'cancelled' });
    expect(listed.items.map((order) => order.id)).toEqual([orderId]);
  });

  it('cancels an order not yet sent (a reversal leg waiting for its closing leg): it never reaches the broker', async () => {
    const routed = await setupAlpacaStrategy(harness, { allowShort: true, allowReverse: true });
    const entry = await buy(routed, '2');
    expect((await logSettles(harness, entry.logId, FINAL)).status).toBe('executed');
    harness.alpaca.controls.configureFills({ mode: 'manual' });
    const reverse = await routed.send({ ticker: 'AAPL', action: 'sell', quantity: '3' });
    const logId = Number(reverse.body.id);
    await logSettles(harness, logId, ['executing']);
    const [close, open] = await ordersOfLog(harness, logId);
    if (!close || !open) throw new Error('the reversal wrote no two legs');
    await waitFor(async () => (await orderRow(close.id)).status === 'accepted', 10_000, 25);
    expect(await orderRow(open.id)).toMatchObject({ intent: 'reverse_open', status: 'pending' });

    const answer = await routed.trader.client.brokers.cancelOrder.mutate({ id: open.id });
    expect(answer).toEqual({ id: open.id, outcome: 'cancelled', status: 'cancelled' });
    // The closing leg fills; the cancelled opening leg is not sent after it.
    harness.alpaca.controls.fillOrder(harness.alpaca.controls.ordersByClientId(`fp-${close.id}`)[0]?.id ?? '');
    expect((await logSettles(harness, logId, FINAL)).status).toBe('executed');
    expect(harness.alpaca.controls.ordersByClientId(`fp-${open.id}`)).toEqual([]);
    expect((await orderRow(open.id)).status).toBe('cancelled');
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
  });
});

describe('replaying a dead submit', () => {
  it('resets the failed order and its log, and the replayed job submits it exactly once', async () => {
    const routed = await setupAlpacaStrategy(harness);
    const { logId, orderId } = await withSubmitsHeld(async () => {
      // The signal job's own attempt meets a 503, so the order waits for its (held) submit job.
      harness.alpaca.controls.failNext(1, { method: 'POST', path: '/v2/orders', status: 503 });
      const sent = await buy(routed, '3');
      await waitFor(async () => (await harness.server.queues.orders.getJob(orderJobId(sent.orderId))) !== undefined);
      // The submit job's last attempt reaches the broker, which stores the order, but the answer is lost.
      harness.alpaca.controls.dropNextResponse({ method: 'POST', path: '/v2/orders' });
      const deps = executionDeps({
        database: harness.server.deps.database,
        registry: harness.registry,
        queues: harness.server.queues,
      });
      await expect(
        submitOrder(systemCtx(), deps, { orderId: sent.orderId }, { attempt: 6, attempts: 6 }),
      ).rejects.toThrow();
      // That job is the one given up on: it leaves the queue as a dead letter.
      await (await harness.server.queues.orders.getJob(orderJobId(sent.orderId)))?.remove();
      return sent;
    });
    expect(await orderRow(orderId)).toMatchObject({ status: 'failed', attempts: 2 });
    expect((await logSettles(harness, logId, FINAL)).status).toBe('failed');
    expect(harness.alpaca.controls.ordersByClientId(`fp-${orderId}`)).toHaveLength(1);
    const { deadLetter } = await recordDeadLetter(systemCtx(), {
      queue: 'orders',
      jobName: 'submit-order',
      jobId: orderJobId(orderId),
      payload: { orderId },
      error: 'broker-unavailable: socket hang up',
      attempts: 6,
    });

    await routed.trader.client.admin.deadLetters.replay.mutate({ id: deadLetter.id });
    expect((await logSettles(harness, logId, FINAL)).status).toBe('executed');
    const order = await orderRow(orderId);
    expect(order).toMatchObject({ status: 'filled', attempts: 3 });
    expect(harness.alpaca.controls.ordersByClientId(`fp-${orderId}`)).toHaveLength(1);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('3');

    // The dead letter is spent: asking again answers it as replayed and sends nothing.
    expect((await routed.trader.client.admin.deadLetters.replay.mutate({ id: deadLetter.id })).status).toBe('replayed');
    // Another dead letter of the same submit (e.g. a stalled duplicate) cannot send a filled order again.
    const stale = await recordDeadLetter(systemCtx(), {
      queue: 'orders',
      jobName: 'submit-order',
      jobId: `${orderJobId(orderId)}-stale`,
      payload: { orderId },
      error: 'stalled',
      attempts: 6,
    });
    const refused = await trpcFailure(() =>
      routed.trader.client.admin.deadLetters.replay.mutate({ id: stale.deadLetter.id }),
    );
    expect([refused.data?.code, refused.message]).toEqual([
      'PRECONDITION_FAILED',
      'This order is filled now; submitting it again would change nothing',
    ]);
    expect(harness.alpaca.controls.ordersByClientId(`fp-${orderId}`)).toHaveLength(1);
  });
});
