/**
 * Fillpath on a real Redis Cluster (REDIS_CLUSTER): three masters started for this file (tests/helpers/redis-cluster.ts)
 * and the api, the engine's workers, the event and portfolio sinks and a second process's strategy cache all
 * connected to it as Cluster clients. What an operator would notice: alerts accepted, queued and executed at the
 * broker; webhook rate limits counted in Redis; portfolio answers cached and invalidated; broker marks read across
 * connections; real-time events delivered; strategy changes reaching other processes; readiness green. And every
 * hash-tagged group of keys, BullMQ's per-queue keys among them, in one hash slot.
 */
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../server/jobs/connection.ts';
import { env } from '../../server/lib/env.ts';
import { logger } from '../../server/lib/logger.ts';
import type { RedisClient } from '../../server/lib/redis-client.ts';
import { eventStreamKey } from '../../server/services/events/keys.ts';
import { setEventSink } from '../../server/services/events/publish.ts';
import { redisEventSink } from '../../server/services/events/redis-sink.ts';
import { portfolioCacheCounters, redisPortfolioSink } from '../../server/services/portfolio/cache.ts';
import { setPortfolioSink } from '../../server/services/portfolio/invalidation.ts';
import { brokerMarks, markKey, rememberBrokerMarks } from '../../server/services/portfolio/marks.ts';
import {
  connectCacheBroadcast,
  invalidationChannel,
  StrategyCache,
} from '../../server/services/webhooks/strategy-cache.ts';
import { waitFor } from '../helpers/app.ts';
import {
  type ExecutionHarness,
  FINAL_LOG_STATUSES,
  logSettles,
  orderFigures,
  ordersOfLog,
  setupAlpacaStrategy,
  startExecutionHarness,
} from '../helpers/execution.ts';
import { type RedisClusterHandle, startRedisCluster } from '../helpers/redis-cluster.ts';
import { subscribeEvents } from './realtime/event-client.ts';

let cluster: RedisClusterHandle | undefined;
let harness: ExecutionHarness | undefined;
/** The worker side's producer connection, as server/worker.ts has it: events and portfolio invalidations go here. */
let publisher: RedisClient | undefined;
/** Reads what the processes left in the cluster. */
let inspector: Cluster | undefined;

const onCluster = () => ({ cluster: true });

beforeAll(async () => {
  cluster = await startRedisCluster();
  harness = await startExecutionHarness({ redis: { url: cluster.url, cluster: true } });
  publisher = createRedis(cluster.url, 'producer', logger, onCluster());
  inspector = createRedis(cluster.url, 'worker', logger, onCluster()) as Cluster;
  setEventSink(redisEventSink(publisher, logger));
  setPortfolioSink(redisPortfolioSink(publisher, logger));
  await waitFor(async () => publisher?.status === 'ready' && harness?.server.deps.redis.status === 'ready');
});

afterAll(async () => {
  setEventSink(null);
  setPortfolioSink(null);
  try {
    await harness?.close();
  } finally {
    publisher?.disconnect();
    inspector?.disconnect();
    await cluster?.close();
  }
});

function running(): { harness: ExecutionHarness; publisher: RedisClient; inspector: Cluster } {
  if (!harness || !publisher || !inspector) throw new Error('the cluster or the processes did not start');
  return { harness, publisher, inspector };
}

/** Every key matching `pattern` on every master (a SCAN sees only the node it is sent to). */
async function clusterKeys(pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for (const node of running().inspector.nodes('master')) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
  }
  return keys;
}

async function slotOf(key: string): Promise<number> {
  return Number(await running().inspector.call('CLUSTER', 'KEYSLOT', key));
}

describe('on a Redis Cluster', () => {
  it('accepts an alert, queues it, and the worker places and fills the order at the broker', async () => {
    const { harness } = running();
    const routed = await setupAlpacaStrategy(harness);
    const answer = await routed.send({ ticker: 'AAPL', action: 'buy', quantity: '3' });
    expect(answer.status).toBe(202);

    const log = await logSettles(harness, answer.body.id, FINAL_LOG_STATUSES);
    expect(log.status).toBe('executed');
    const [order] = await ordersOfLog(harness, answer.body.id);
    expect(orderFigures(order)).toMatchObject({ side: 'buy', status: 'filled', quantity: '3', filledQty: '3' });
    expect(harness.alpaca.controls.ordersByClientId(`fp-${order?.id}`)).toHaveLength(1);
  });

  it("keeps each queue's keys, and each user's cache keys, in the one slot of their hash tag", async () => {
    const tagged = await clusterKeys(`${env.REDIS_PREFIX}:{*`);
    const byTag = new Map<string, string[]>();
    for (const key of tagged) {
      const tag = key.slice(key.indexOf('{') + 1, key.indexOf('}'));
      byTag.set(tag, [...(byTag.get(tag) ?? []), key]);
    }
    // The alert above went through the signals queue: BullMQ created its id counter, event log, finished-job set….
    expect(byTag.get('signals')?.length).toBeGreaterThanOrEqual(3);
    for (const [tag, keys] of byTag) {
      const slots = new Set(await Promise.all(keys.map(slotOf)));
      expect({ tag, slots: [...slots] }).toEqual({ tag, slots: [await slotOf(`{${tag}}`)] });
    }
    // Sharded for real: the run's keys are spread over several nodes, not all on one by chance.
    const nodesWithKeys = await Promise.all(
      running()
        .inspector.nodes('master')
        .map(async (node) => (await node.scan('0', 'MATCH', `${env.REDIS_PREFIX}:*`, 'COUNT', 10_000))[1].length > 0),
    );
    expect(nodesWithKeys.filter(Boolean).length).toBeGreaterThanOrEqual(2);
  });

  it("counts a strategy's webhook rate limit in the cluster and refuses the alert past it", async () => {
    const { harness, inspector } = running();
    const routed = await setupAlpacaStrategy(harness, { ratePerMinute: 2 });
    const statuses: number[] = [];
    for (const quantity of ['1', '2', '3']) {
      statuses.push((await routed.send({ ticker: 'MSFT', action: 'buy', quantity })).status);
    }
    expect(statuses).toEqual([202, 202, 429]);
    // Counted in Redis, not by the in-memory insurance that stands in when Redis fails.
    expect(await inspector.get(`${env.REDIS_PREFIX}:rl:webhook-minute-2:${routed.strategyId}`)).toBe('3');
  });

  it('serves a repeated portfolio query from the cache, and a new answer once a fill invalidates it', async () => {
    const { harness, inspector } = running();
    harness.alpaca.controls.setPrice('NVDA', '100');
    const routed = await setupAlpacaStrategy(harness);
    const portfolio = routed.trader.client.portfolio;
    const entry = await routed.send({ ticker: 'NVDA', action: 'buy', quantity: '2' });
    await logSettles(harness, entry.body.id, ['executed']);

    const first = await portfolio.getOverview.query();
    expect(first).toMatchObject({ tradeCount: 0, openPositionCount: 1 });
    const before = { ...portfolioCacheCounters };
    expect(await portfolio.getOverview.query()).toEqual(first);
    expect(portfolioCacheCounters.hits).toBe(before.hits + 1);
    expect(portfolioCacheCounters.bypassed).toBe(before.bypassed);

    harness.alpaca.controls.setPrice('NVDA', '112.5');
    const exit = await routed.send({ ticker: 'NVDA', action: 'exit' });
    await logSettles(harness, exit.body.id, ['executed']);
    // (112.5 − 100) × 2, seen at once: the fill moved the user's generation on.
    expect(await portfolio.getOverview.query()).toMatchObject({
      realizedPnl: '25',
      tradeCount: 1,
      openPositionCount: 0,
    });
    expect(Number(await inspector.get(`${env.REDIS_PREFIX}:{portfolio:${routed.trader.id}}:gen`))).toBeGreaterThan(0);
  });

  it('reads broker marks of several connections whose keys live in different slots', async () => {
    const { publisher } = running();
    const marksKey = (id: number) => `${env.REDIS_PREFIX}:portfolio:marks:${id}`;
    const first = 900_001;
    let second = first + 1;
    while ((await slotOf(marksKey(second))) === (await slotOf(marksKey(first)))) second++;
    const at = new Date('2026-03-02T15:00:00.000Z');
    await rememberBrokerMarks(publisher, first, [{ symbol: 'AAPL', marketPrice: '101.5' }], at);
    await rememberBrokerMarks(publisher, second, [{ symbol: 'MSFT', marketPrice: '250' }], at);

    const marks = await brokerMarks(publisher, [
      { connectionId: first, symbol: 'AAPL' },
      { connectionId: second, symbol: 'MSFT' },
      { connectionId: second, symbol: 'TSLA' },
    ]);
    expect(Object.fromEntries(marks)).toEqual({
      [markKey(first, 'AAPL')]: { price: '101.5', at },
      [markKey(second, 'MSFT')]: { price: '250', at },
    });
  });

  it('delivers real-time events as they are appended: the receipt, then the order filling', async () => {
    const { harness, inspector } = running();
    const routed = await setupAlpacaStrategy(harness);
    const sub = subscribeEvents(harness.server.url, routed.trader.accessToken);
    try {
      await sub.started;
      const answer = await routed.send({ ticker: 'AAPL', action: 'buy', quantity: '1' });
      expect(answer.status).toBe(202);
      // Well under the streams' 30 s safety read: only the pub/sub hint through the cluster wakes them this soon.
      const events = await sub.until(
        (all) => all.some((e) => e.data.kind === 'order' && e.data.status === 'filled'),
        10_000,
      );
      expect(events[0]?.data).toMatchObject({ kind: 'webhook', webhookLogId: answer.body.id, status: 'accepted' });
    } finally {
      sub.unsubscribe();
    }
    expect(await inspector.xlen(eventStreamKey(routed.trader.id))).toBeGreaterThanOrEqual(2);
  });

  it("drops a paused strategy from another process's webhook cache through the cluster's pub/sub", async () => {
    const { harness, inspector } = running();
    const remote = new StrategyCache();
    const subscriber = createRedis(cluster?.url ?? '', 'worker', logger, onCluster());
    const disconnect = connectCacheBroadcast({ subscriber, cache: remote, log: logger });
    try {
      // Subscribed: the api's connection and this one (each on whichever node the client chose).
      await waitFor(async () => {
        let subscribers = 0;
        for (const node of inspector.nodes('master')) {
          const [, count] = (await node.call('PUBSUB', 'NUMSUB', invalidationChannel())) as [string, number];
          subscribers += count;
        }
        return subscribers >= 2;
      });
      const routed = await setupAlpacaStrategy(harness);
      await remote.get('token', async () => ({
        id: routed.strategyId,
        userId: routed.trader.id,
        isActive: true,
        tradingAllowed: true,
        maxSignalAgeS: null,
        ratePerMinute: 60,
        ratePerHour: 500,
        passphraseHash: null,
        ipAllowed: () => true,
      }));
      expect(remote.size).toBe(1);
      await routed.trader.client.strategies.pause.mutate({ id: routed.strategyId });
      await waitFor(async () => remote.size === 0, 5_000, 20);
    } finally {
      await disconnect();
      subscriber.disconnect();
    }
  });

  it('reports Redis ready on the probes', async () => {
    const { harness } = running();
    const ready = await fetch(`${harness.server.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, status: 'ready', failing: [] });
    const health = await fetch(`${harness.server.url}/health`);
    expect(await health.json()).toMatchObject({ components: { redis: 'ok' } });
  });
});
