/**
 * notifications.onEvent over real HTTP with @trpc/client and an EventSource, against the whole execution path (api,
 * engine workers, fake Alpaca): what arrives, in what order, after a dropped connection, and for whom. As in
 * production, events are appended to Redis by a connection of their own (the worker's producer) and read back by the
 * api's subscriber connections: nothing reaches a client except through Redis.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../../server/jobs/connection.ts';
import { env } from '../../../server/lib/env.ts';
import { logger } from '../../../server/lib/logger.ts';
import type { RedisClient } from '../../../server/lib/redis-client.ts';
import { setEventSink } from '../../../server/services/events/publish.ts';
import { redisEventSink } from '../../../server/services/events/redis-sink.ts';
import { dispatchNotifications } from '../../../server/services/notifications/dispatch.ts';
import { startTestApp } from '../../helpers/app.ts';
import { type ExecutionHarness, setupAlpacaStrategy, startExecutionHarness } from '../../helpers/execution.ts';
import { startTcpProxy } from '../../helpers/tcp-proxy.ts';
import {
  byEventId,
  FROM_START,
  hasReceipts,
  receiptIds,
  receipts,
  refusedAlert,
  subscribeEvents,
  traderWithStrategy,
} from './event-client.ts';

let harness: ExecutionHarness;
let publisher: RedisClient;
let url: string;

beforeAll(async () => {
  harness = await startExecutionHarness();
  url = harness.server.url;
  publisher = createRedis(env.REDIS_URL, 'producer', logger);
  setEventSink(redisEventSink(publisher, logger));
});

afterAll(async () => {
  setEventSink(null);
  await harness.close();
  publisher.disconnect();
});

describe('notifications.onEvent', () => {
  it('streams a trade as it happens: the receipt, the order reaching the broker and filling, then the notification', async () => {
    const routed = await setupAlpacaStrategy(harness);
    // No lastEventId: what happens from now on. "Started" means subscribed, so the alert below cannot slip past.
    const sub = subscribeEvents(url, routed.trader.accessToken);
    await sub.started;
    const answer = await routed.trader.client.webhooks.simulateSignal.mutate({
      strategyId: routed.strategyId,
      payload: { ticker: 'AAPL', action: 'buy', quantity: '2' },
    });
    expect(answer).toMatchObject({ ok: true, status: 'accepted' });
    await sub.until((events) => events.some((e) => e.data.kind === 'order' && e.data.status === 'filled'));
    // The notification outbox sweep (the worker runs it every 2 s) announces committed notifications.
    await dispatchNotifications(
      { db: harness.server.deps.database.db, log: logger, requestId: 'test', actor: { type: 'system' } },
      async () => undefined,
    );
    const events = await sub.until((all) => all.some((e) => e.data.kind === 'notification'));
    sub.unsubscribe();

    const [receipt, ...rest] = events.map((e) => e.data);
    expect(receipt).toMatchObject({
      kind: 'webhook',
      webhookLogId: answer.id,
      strategyId: routed.strategyId,
      source: 'simulation',
      status: 'accepted',
      code: null,
    });
    const orders = rest.filter((e) => e.kind === 'order');
    // At the broker (submitted or accepted: the broker's first word), then filled.
    expect(orders.map((o) => (o.status === 'accepted' ? 'submitted' : o.status))).toEqual(['submitted', 'filled']);
    const filled = orders.at(-1);
    expect(filled).toMatchObject({
      webhookLogId: answer.id,
      strategyId: routed.strategyId,
      side: 'buy',
      symbol: 'AAPL',
      quantity: '2',
      filledQty: '2',
      avgFillPrice: expect.stringMatching(/^\d+(\.\d+)?$/),
    });
    expect(rest.at(-1)).toMatchObject({
      kind: 'notification',
      type: 'order.filled',
      severity: 'success',
      title: expect.stringContaining('AAPL'),
      data: expect.objectContaining({ orderId: filled?.kind === 'order' ? filled.orderId : -1 }),
    });
    // Ids only grow, and each event carries when it was published.
    const ids = events.map((e) => e.id);
    expect([...ids].sort(byEventId)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    for (const event of events) expect(event.data.at).toBeInstanceOf(Date);
  });

  it('resumes a dropped connection after the last event received: nothing lost, nothing twice', async () => {
    const { trader, strategyId } = await traderWithStrategy(url);
    const { port } = harness.server.app.server.address() as AddressInfo;
    const proxy = await startTcpProxy('127.0.0.1', port);
    try {
      const sub = subscribeEvents(`http://127.0.0.1:${proxy.port}`, trader.accessToken, FROM_START);
      const first = await refusedAlert(trader, strategyId);
      await sub.until(hasReceipts([first]));

      await proxy.cut();
      const whileAway = [await refusedAlert(trader, strategyId), await refusedAlert(trader, strategyId)];
      await proxy.restore();
      await sub.until(hasReceipts(whileAway));
      const last = await refusedAlert(trader, strategyId);
      const events = await sub.until(hasReceipts([last]));
      sub.unsubscribe();

      expect(receiptIds(events)).toEqual([first, ...whileAway, last]);
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
      expect(sub.error).toBeNull();
    } finally {
      await proxy.close();
    }
  });

  it('resumes a new subscription after a given lastEventId, from the oldest event still kept when it is older', async () => {
    const { trader, strategyId } = await traderWithStrategy(url);
    const live = subscribeEvents(url, trader.accessToken, FROM_START);
    const logIds: number[] = [];
    // Only the last 3 events of a user are kept while this sink is in place.
    setEventSink(redisEventSink(publisher, logger, { maxLength: 3 }));
    try {
      for (let i = 0; i < 5; i++) {
        logIds.push(await refusedAlert(trader, strategyId));
        await live.until(hasReceipts(logIds));
      }
    } finally {
      setEventSink(redisEventSink(publisher, logger));
    }
    live.unsubscribe();
    const [first, second] = live.events;
    if (!first || !second) throw new Error('no events');

    const afterSecond = subscribeEvents(url, trader.accessToken, { lastEventId: second.id });
    expect(receiptIds(await afterSecond.until(hasReceipts(logIds.slice(2))))).toEqual(logIds.slice(2));
    afterSecond.unsubscribe();

    // The first two are gone from the capped stream: resuming after the first starts at the oldest kept.
    const afterFirst = subscribeEvents(url, trader.accessToken, { lastEventId: first.id });
    expect(receiptIds(await afterFirst.until(hasReceipts(logIds.slice(2))))).toEqual(logIds.slice(2));
    const next = await refusedAlert(trader, strategyId);
    expect(receiptIds(await afterFirst.until(hasReceipts([next])))).toEqual([...logIds.slice(2), next]);
    afterFirst.unsubscribe();
  });

  it("never sends a user another user's events", async () => {
    const alice = await traderWithStrategy(url);
    const bob = await traderWithStrategy(url);
    const aliceSub = subscribeEvents(url, alice.trader.accessToken, FROM_START);
    const bobSub = subscribeEvents(url, bob.trader.accessToken, FROM_START);
    const aliceIds = [await refusedAlert(alice.trader, alice.strategyId)];
    const bobIds = [await refusedAlert(bob.trader, bob.strategyId), await refusedAlert(bob.trader, bob.strategyId)];
    await bobSub.until(hasReceipts(bobIds));
    // Alice's stream is ordered: once her later event arrived, anything of Bob's in it would have arrived too.
    aliceIds.push(await refusedAlert(alice.trader, alice.strategyId));
    await aliceSub.until(hasReceipts(aliceIds));
    bobIds.push(await refusedAlert(bob.trader, bob.strategyId));
    await bobSub.until(hasReceipts(bobIds));
    aliceSub.unsubscribe();
    bobSub.unsubscribe();

    expect(receiptIds(aliceSub.events)).toEqual(aliceIds);
    expect(receipts(aliceSub.events).every((r) => r.strategyId === alice.strategyId)).toBe(true);
    expect(receiptIds(bobSub.events)).toEqual(bobIds);
    expect(receipts(bobSub.events).every((r) => r.strategyId === bob.strategyId)).toBe(true);
  });

  it("delays events while the api's Redis is away, and delivers them once when it is back", async () => {
    const redisUrl = new URL(env.REDIS_URL);
    const proxy = await startTcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
    redisUrl.hostname = '127.0.0.1';
    redisUrl.port = String(proxy.port);
    const cutOff = await startTestApp({ redisUrl: redisUrl.toString() });
    try {
      const { trader, strategyId } = await traderWithStrategy(url);
      const sub = subscribeEvents(cutOff.url, trader.accessToken, FROM_START);
      const before = await refusedAlert(trader, strategyId); // through the first instance, whose Redis stays up
      await sub.until(hasReceipts([before]));

      await proxy.cut();
      const whileAway = [await refusedAlert(trader, strategyId), await refusedAlert(trader, strategyId)];
      await proxy.restore();
      const events = await sub.until(hasReceipts(whileAway), 20_000);
      sub.unsubscribe();

      expect(receiptIds(events)).toEqual([before, ...whileAway]);
      expect(sub.error).toBeNull();
    } finally {
      await cutOff.close();
      await proxy.close();
    }
  });

  it('reaches a subscriber on another api instance than the one where the event happened', async () => {
    const other = await startTestApp();
    try {
      const { trader, strategyId } = await traderWithStrategy(url);
      const sub = subscribeEvents(other.url, trader.accessToken, FROM_START);
      const id = await refusedAlert(trader, strategyId); // through the first instance
      expect(receiptIds(await sub.until(hasReceipts([id])))).toEqual([id]);
      sub.unsubscribe();
    } finally {
      await other.close();
    }
  });
});
