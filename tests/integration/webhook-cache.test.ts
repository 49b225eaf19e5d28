/**
 * The webhook strategy cache: a strategy or account change made through the API drops the entries it affects in
 * other api processes too (Redis pub/sub, seen here by a cache that only hears the broadcast), concurrent lookups
 * share one query, a lookup that raced an invalidation does not store what it read, and entries expire.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedis } from '../../server/jobs/connection.ts';
import { env } from '../../server/lib/env.ts';
import { logger } from '../../server/lib/logger.ts';
import type { RedisClient } from '../../server/lib/redis-client.ts';
import {
  connectCacheBroadcast,
  invalidationChannel,
  StrategyCache,
} from '../../server/services/webhooks/strategy-cache.ts';
import type { WebhookStrategy } from '../../server/services/webhooks/webhook-strategy.ts';
import { startTestApp, type TestApp, waitFor } from '../helpers/app.ts';
import { type SignedInUser, signUp } from '../helpers/client.ts';
import { createWebhookStrategy } from '../helpers/webhooks.ts';

const strategy = (id: number, userId = 1): WebhookStrategy => ({
  id,
  userId,
  isActive: true,
  tradingAllowed: true,
  maxSignalAgeS: null,
  ratePerMinute: 60,
  ratePerHour: 500,
  passphraseHash: null,
  ipAllowed: () => true,
});

describe('another api process', () => {
  let server: TestApp;
  let trader: SignedInUser;
  let subscriber: RedisClient;
  let disconnect: () => Promise<void>;
  // A cache of "another process": not registered with this process, so only the broadcast reaches it.
  const remote = new StrategyCache();
  beforeAll(async () => {
    server = await startTestApp();
    trader = await signUp(server.url);
    subscriber = createRedis(env.REDIS_URL, 'worker', logger);
    disconnect = connectCacheBroadcast({ subscriber, cache: remote, log: logger });
    // Subscribed: this cache's connection and the app's own.
    await waitFor(async () => {
      const [, subscribers] = (await server.deps.redis.call('PUBSUB', 'NUMSUB', invalidationChannel())) as [
        string,
        number,
      ];
      return subscribers >= 2;
    });
  });
  afterAll(async () => {
    await disconnect();
    subscriber.disconnect();
    await server.close();
  });

  it('drops a paused, updated, rotated or deleted strategy, and only that one', async () => {
    const changes: Array<(id: number) => Promise<unknown>> = [
      (id) => trader.client.strategies.pause.mutate({ id }),
      (id) => trader.client.strategies.update.mutate({ id, ratePerMinute: 5 }),
      (id) => trader.client.strategies.rotateWebhookToken.mutate({ id }),
      (id) => trader.client.strategies.delete.mutate({ id }),
    ];
    const bystander = await createWebhookStrategy(trader.client);
    await remote.get('bystander', async () => strategy(bystander.id, trader.id));
    for (const change of changes) {
      const { id } = await createWebhookStrategy(trader.client);
      await remote.get('changed', async () => strategy(id, trader.id));
      expect(remote.size).toBe(2);
      await change(id);
      await waitFor(async () => remote.size === 1, 5_000, 20);
    }
    let reloaded = false;
    await remote.get('bystander', async () => {
      reloaded = true;
      return null;
    });
    expect(reloaded).toBe(false);
  });

  it('drops every strategy of a user whose kill switch changes', async () => {
    const other = await signUp(server.url);
    const first = await createWebhookStrategy(other.client);
    const second = await createWebhookStrategy(other.client);
    await remote.get('first', async () => strategy(first.id, other.id));
    await remote.get('second', async () => strategy(second.id, other.id));
    const before = remote.size;
    await other.client.account.setTradingEnabled.mutate({ enabled: false });
    await waitFor(async () => remote.size === before - 2, 5_000, 20);
  });
});

describe('StrategyCache', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('shares one load between concurrent lookups, unknown tokens included', async () => {
    const cache = new StrategyCache();
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((resolve) => setImmediate(resolve));
      return null;
    };
    const answers = await Promise.all(Array.from({ length: 10 }, () => cache.get('unknown', load)));
    expect(answers).toEqual(Array(10).fill(null));
    await cache.get('unknown', load);
    expect(loads).toBe(1);
  });

  it('does not store a load that an invalidation overtook, nor hand it to later lookups', async () => {
    const cache = new StrategyCache();
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stale = cache.get('token', async () => {
      await gate;
      return strategy(7);
    });
    cache.invalidate({ strategyIds: [7] });
    const fresh = cache.get('token', async () => ({ ...strategy(7), isActive: false }));
    release();
    expect((await stale)?.isActive).toBe(true); // the request that started before the change
    expect((await fresh)?.isActive).toBe(false);
    expect((await cache.get('token', async () => strategy(8)))?.isActive).toBe(false); // fresh one stored
  });

  it('forgets entries after the TTL and keeps at most maxEntries', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const cache = new StrategyCache({ ttlMs: 1_000, maxEntries: 2 });
    await cache.get('a', async () => strategy(1));
    vi.setSystemTime(Date.now() + 1_001);
    expect((await cache.get('a', async () => strategy(2)))?.id).toBe(2);
    await cache.get('b', async () => strategy(3));
    await cache.get('c', async () => strategy(4));
    expect(cache.size).toBe(2);
  });
});
