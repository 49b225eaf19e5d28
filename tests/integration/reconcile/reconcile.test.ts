/**
 * Reconciliation against the fake Alpaca (AAPL at 100), run through brokers.reconcile and the reconcile worker: a
 * fill the poller missed is found and booked exactly once; an order cancelled at the broker is ended; a position
 * changed at the broker behind Fillpath's back is reported in every run but notified once per distinct mismatch;
 * a broker that cannot answer makes an `error` run; a run its dead worker left unfinished is closed by the next one;
 * runs are the owner's only.
 */
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { brokerOrders } from '../../../drizzle/schema/broker_orders.ts';
import { reconciliationRuns } from '../../../drizzle/schema/reconciliation_runs.ts';
import { RUN_INTERRUPTED } from '../../../server/services/reconcile/runs.ts';
import { waitFor } from '../../helpers/app.ts';
import { signUp, trpcFailure } from '../../helpers/client.ts';
import {
  fillsOf,
  logSettles,
  notificationsOf,
  orderReaches,
  ordersOfLog,
  positionOf,
  type RoutedStrategy,
  seedPosition,
  setupAlpacaStrategy,
} from '../../helpers/execution.ts';
import { alpacaDirect, type ReconcileHarness, startReconcileHarness } from './harness.ts';

let harness: ReconcileHarness;
beforeAll(async () => {
  harness = await startReconcileHarness();
});
afterAll(() => harness.close());
beforeEach(() => {
  harness.alpaca.controls.reset();
  harness.alpaca.controls.setPrice('AAPL', '100');
});

let sent = 0;
const alert = (fields: Record<string, unknown>) => ({ ticker: 'AAPL', comment: `#${++sent}`, ...fields });

/** Sends an entry that stays working at the fake (manual fills) and returns its order once the broker has it. */
async function workingEntry(routed: RoutedStrategy, fields: Record<string, unknown>) {
  const answer = await routed.send(alert(fields));
  await logSettles(harness, answer.body.id, ['executing']);
  const [order] = await ordersOfLog(harness, answer.body.id);
  if (!order) throw new Error('no entry order');
  return orderReaches(harness, order.id, (o) => o.status === 'accepted' && o.brokerOrderId !== null);
}

/** Trades at the broker with the account's own keys, outside Fillpath; waits until a market order has filled. */
async function tradeBehindTheBack(side: 'buy' | 'sell', quantity: string, limitPrice?: string) {
  const direct = alpacaDirect(harness);
  const placed = await direct.post('/v2/orders', {
    symbol: 'AAPL',
    qty: quantity,
    side,
    type: limitPrice ? 'limit' : 'market',
    ...(limitPrice ? { limit_price: limitPrice } : {}),
    time_in_force: limitPrice ? 'gtc' : 'day',
  });
  expect(placed.status).toBe(200);
  const id = String(placed.body.id);
  if (!limitPrice) await waitFor(async () => (await direct.get(`/v2/orders/${id}`)).body.status === 'filled');
  return id;
}

async function pollerIdle() {
  const queue = harness.server.queues['order-status'];
  await waitFor(async () => {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed');
    return Object.values(counts).every((count) => count === 0);
  });
}

describe('a fill the order-status poller missed', () => {
  it('is found by reconciliation and booked exactly once, however often it runs', async () => {
    harness.alpaca.controls.configureFills({ mode: 'manual' });
    const routed = await setupAlpacaStrategy(harness);
    const order = await workingEntry(routed, { action: 'buy', quantity: '3' });

    await harness.holdPoller();
    try {
      harness.alpaca.controls.fillOrder(String(order.brokerOrderId), { qty: '3', price: '100' });
      expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');

      const first = await harness.reconcile(routed);
      expect(first).toMatchObject({ status: 'ok', ordersUpdated: 1, discrepancies: [], error: null });
      const filled = await orderReaches(harness, order.id, (o) => o.status === 'filled');
      expect(filled.filledQty).toBe('3.00000000');
      expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('3');
      expect(await fillsOf(harness, order.id)).toEqual([['3', '100', '0']]);

      const second = await harness.reconcile(routed);
      expect(second).toMatchObject({ status: 'ok', ordersUpdated: 0 });
    } finally {
      await harness.releasePoller();
    }
    // The poller's own chain resumes, finds the order final and records nothing more.
    await pollerIdle();
    expect(await fillsOf(harness, order.id)).toEqual([['3', '100', '0']]);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('3');
    const notices = await notificationsOf(harness, routed.trader.id, 'order.filled');
    expect(notices.filter((n) => (n.data as { orderId?: number }).orderId === order.id)).toHaveLength(1);
    expect((await logSettles(harness, order.webhookLogId, ['executed'])).status).toBe('executed');
  });
});

describe('an order cancelled at the broker', () => {
  it('is ended cancelled by reconciliation, with its log settled', async () => {
    const routed = await setupAlpacaStrategy(harness);
    const order = await workingEntry(routed, { action: 'buy', quantity: '2', limitPrice: '90' });

    await harness.holdPoller();
    try {
      const cancelled = await alpacaDirect(harness).delete(`/v2/orders/${order.brokerOrderId}`);
      expect(cancelled.status).toBe(204);
      const run = await harness.reconcile(routed);
      expect(run).toMatchObject({ status: 'ok', ordersUpdated: 1, discrepancies: [] });
      const [row] = await harness.server.deps.database.db
        .select()
        .from(brokerOrders)
        .where(eq(brokerOrders.id, order.id));
      expect(row).toMatchObject({ status: 'cancelled', filledQty: '0.00000000' });
      expect((await logSettles(harness, order.webhookLogId, ['failed', 'executed'])).status).toBe('failed');
    } finally {
      await harness.releasePoller();
    }
    await pollerIdle();
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
  });
});

describe('a position changed at the broker behind Fillpath’s back', () => {
  it('is reported by every run and notified once per distinct mismatch', async () => {
    const routed = await setupAlpacaStrategy(harness);
    await seedPosition(harness, routed, alert({ action: 'buy', quantity: '3' }));
    expect(await harness.reconcile(routed)).toMatchObject({ status: 'ok', discrepancies: [] });

    await tradeBehindTheBack('sell', '1');
    const mismatch = {
      symbol: 'AAPL',
      broker: '2',
      local: '3',
      note: null,
      strategies: [{ strategyId: routed.strategyId, quantity: '3' }],
      orderIds: [],
      brokerOrderIds: [],
    };
    const first = await harness.reconcile(routed);
    expect(first).toMatchObject({ status: 'mismatch', discrepancies: [mismatch] });
    const second = await harness.reconcile(routed);
    expect(second).toMatchObject({ status: 'mismatch', discrepancies: [mismatch] });
    let notices = await notificationsOf(harness, routed.trader.id, 'reconciliation.mismatch');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ severity: 'warning' });
    expect(notices[0]?.message).toContain('AAPL: broker 2, Fillpath 3');
    expect(notices[0]?.data).toEqual({ connectionId: routed.connectionId, reconciliationRunId: first.id });

    // A different mismatch is news again.
    await tradeBehindTheBack('sell', '1');
    const third = await harness.reconcile(routed);
    expect(third).toMatchObject({ status: 'mismatch', discrepancies: [{ ...mismatch, broker: '1' }] });
    notices = await notificationsOf(harness, routed.trader.id, 'reconciliation.mismatch');
    expect(notices).toHaveLength(2);
    // Fillpath's books are untouched: fills are the truth until the owner adopts the broker's.
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('3');
  });

  it('lists an order Fillpath did not place among the orders involved', async () => {
    const routed = await setupAlpacaStrategy(harness);
    await seedPosition(harness, routed, alert({ action: 'buy', quantity: '2' }));
    await tradeBehindTheBack('sell', '1');
    const resting = await tradeBehindTheBack('sell', '1', '150');
    const run = await harness.reconcile(routed);
    expect(run.discrepancies).toEqual([
      expect.objectContaining({ symbol: 'AAPL', broker: '1', local: '2', brokerOrderIds: [resting] }),
    ]);
  });
});

describe('a broker that cannot answer', () => {
  it('makes an error run, without a notification, and the next run compares again', async () => {
    const routed = await setupAlpacaStrategy(harness);
    harness.alpaca.controls.failNext(1, { status: 500, path: '/v2/positions' });
    const failed = await harness.reconcile(routed);
    expect(failed.status).toBe('error');
    expect(failed.error).toBeTruthy();
    expect(await harness.reconcile(routed)).toMatchObject({ status: 'ok', error: null });
    expect(await notificationsOf(harness, routed.trader.id, 'reconciliation.mismatch')).toHaveLength(0);
  });
});

describe('a run whose worker died mid-run', () => {
  /** A run in progress as a worker leaves it, started and last beating `secondsAgo` by the database's clock. */
  async function runInProgress(connectionId: number, startedSecondsAgo: number, beatSecondsAgo: number) {
    const ago = (seconds: number) => sql`CURRENT_TIMESTAMP(3) - INTERVAL ${seconds} SECOND`;
    const [row] = await harness.server.deps.database.db
      .insert(reconciliationRuns)
      .values({ brokerConnectionId: connectionId, startedAt: ago(startedSecondsAgo), heartbeatAt: ago(beatSecondsAgo) })
      .$returningId();
    return row?.id ?? 0;
  }

  it('is closed as interrupted by the next run once its heartbeat is a minute old, and that run compares', async () => {
    const routed = await setupAlpacaStrategy(harness);
    const dead = await runInProgress(routed.connectionId, 60, 60);

    const next = await harness.reconcile(routed);
    expect(next).toMatchObject({ status: 'ok', error: null });
    const page = await routed.trader.client.brokers.getReconciliationRuns.query({ connectionId: routed.connectionId });
    expect(page.items.map((r) => [r.id, r.status, r.error])).toEqual([
      [next.id, 'ok', null],
      [dead, 'error', RUN_INTERRUPTED],
    ]);
    expect(page.items[1]?.finishedAt).not.toBeNull();
  });

  it('is not taken over while it keeps beating, however long ago it started', async () => {
    const routed = await setupAlpacaStrategy(harness);
    const slow = await runInProgress(routed.connectionId, 20 * 60, 1);
    expect(await harness.scheduledRun(routed.connectionId)).toEqual({ status: 'skipped', reason: 'already-running' });
    const page = await routed.trader.client.brokers.getReconciliationRuns.query({ connectionId: routed.connectionId });
    expect(page.items.map((r) => [r.id, r.status])).toEqual([[slow, null]]);
  });
});

describe('runs belong to the connection’s owner', () => {
  it('pages a connection’s runs newest first and hides them and the connection from anyone else', async () => {
    const routed = await setupAlpacaStrategy(harness);
    const runs = [await harness.reconcile(routed), await harness.reconcile(routed), await harness.reconcile(routed)];
    const client = routed.trader.client;
    const page1 = await client.brokers.getReconciliationRuns.query({ connectionId: routed.connectionId, limit: 2 });
    expect(page1.items.map((r) => r.id)).toEqual([runs[2]?.id, runs[1]?.id]);
    const page2 = await client.brokers.getReconciliationRuns.query({
      connectionId: routed.connectionId,
      limit: 2,
      cursor: page1.nextCursor ?? undefined,
    });
    expect(page2).toEqual({ items: [expect.objectContaining({ id: runs[0]?.id })], nextCursor: null });
    expect(await client.brokers.getReconciliationRun.query({ id: runs[0]?.id ?? 0 })).toMatchObject({
      id: runs[0]?.id,
      brokerConnectionId: routed.connectionId,
      orders: [],
    });

    const stranger = await signUp(harness.server.url);
    expect((await stranger.client.brokers.getReconciliationRuns.query({})).items).toEqual([]);
    const hidden = await trpcFailure(() =>
      stranger.client.brokers.getReconciliationRun.query({ id: runs[0]?.id ?? 0 }),
    );
    expect(hidden.data?.code).toBe('NOT_FOUND');
    const foreign = await trpcFailure(() =>
      stranger.client.brokers.reconcile.mutate({ connectionId: routed.connectionId }),
    );
    expect(foreign.data?.code).toBe('NOT_FOUND');
  });

  it('shows the orders a discrepancy names in the run’s detail', async () => {
    const routed = await setupAlpacaStrategy(harness);
    await tradeBehindTheBack('buy', '4');
    const order = await workingEntry(routed, { action: 'buy', quantity: '1', limitPrice: '90' });
    const run = await harness.reconcile(routed);
    expect(run.discrepancies).toEqual([
      expect.objectContaining({ symbol: 'AAPL', broker: '4', local: '0', orderIds: [order.id], strategies: [] }),
    ]);
    const detail = await routed.trader.client.brokers.getReconciliationRun.query({ id: run.id });
    expect(detail.orders.map((o) => [o.id, o.status])).toEqual([[order.id, 'accepted']]);
  });
});
