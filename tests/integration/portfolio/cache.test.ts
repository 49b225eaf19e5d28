/**
 * The portfolio cache: answers are served from Redis until the user's fills or trades change — a fill the worker
 * records, a deleted trade — and then computed again; users never share an entry; a burst of identical requests
 * computes once; with Redis cut, answers are computed uncached instead of failing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { logger } from '../../../server/lib/logger.ts';
import { cachedAnswer, portfolioCacheCounters, redisPortfolioSink } from '../../../server/services/portfolio/cache.ts';
import { invalidatePortfolio, setPortfolioSink } from '../../../server/services/portfolio/invalidation.ts';
import { startTestApp, type TestApp, waitFor } from '../../helpers/app.ts';
import {
  type ExecutionHarness,
  logSettles,
  setupAlpacaStrategy,
  startExecutionHarness,
} from '../../helpers/execution.ts';
import { startTcpProxy } from '../../helpers/tcp-proxy.ts';
import { closedTrade, connectionOf, strategyOf, trader } from './books.ts';

let harness: ExecutionHarness;
beforeAll(async () => {
  harness = await startExecutionHarness();
  // As server/worker.ts and server/api.ts do: recorded fills invalidate through the process's sink.
  setPortfolioSink(redisPortfolioSink(harness.server.deps.redis, logger));
});
afterAll(async () => {
  setPortfolioSink(null);
  await harness.close();
});

const counters = () => ({ ...portfolioCacheCounters });

describe('invalidation', () => {
  it('a fill the worker records changes the next answer; until then the answer comes from the cache', async () => {
    harness.alpaca.controls.setPrice('AAPL', '100');
    const routed = await setupAlpacaStrategy(harness);
    const portfolio = routed.trader.client.portfolio;
    const entry = await routed.send({ ticker: 'AAPL', action: 'buy', quantity: '2' });
    await logSettles(harness, entry.body.id, ['executed']);

    const first = await portfolio.getOverview.query();
    expect(first).toMatchObject({ tradeCount: 0, openPositionCount: 1, unrealizedPnl: '0' });
    const before = counters();
    expect(await portfolio.getOverview.query()).toEqual(first);
    expect(portfolioCacheCounters.hits).toBe(before.hits + 1);
    expect(portfolioCacheCounters.misses).toBe(before.misses);

    harness.alpaca.controls.setPrice('AAPL', '112.5');
    const exit = await routed.send({ ticker: 'AAPL', action: 'exit' });
    await logSettles(harness, exit.body.id, ['executed']);
    // (112.5 − 100) × 2 = 25, closed by the fill the status poll recorded.
    expect(await portfolio.getOverview.query()).toMatchObject({
      realizedPnl: '25',
      tradeCount: 1,
      winCount: 1,
      openPositionCount: 0,
    });
  });

  it('serves the cached answer over a change nobody announced, and the new one once the user is invalidated', async () => {
    const t = await trader(harness.server.url, harness.server.deps.database.db);
    const book = { strategyId: await strategyOf(t), connectionId: await connectionOf(t, 'tradovate') };
    await closedTrade(t, book, { pnl: '10', exit: '2026-01-05T15:00:00.000Z' });
    expect((await t.client.portfolio.getOverview.query()).realizedPnl).toBe('10');
    await closedTrade(t, book, { pnl: '5', exit: '2026-01-06T15:00:00.000Z' });
    expect((await t.client.portfolio.getOverview.query()).realizedPnl).toBe('10');
    invalidatePortfolio(t.id);
    expect((await t.client.portfolio.getOverview.query()).realizedPnl).toBe('15');
  });

  it('deleteTrade drops the cached answers at once', async () => {
    const t = await trader(harness.server.url, harness.server.deps.database.db);
    const book = { strategyId: await strategyOf(t), connectionId: await connectionOf(t, 'tradovate') };
    const from = new Date('2026-01-01T00:00:00.000Z');
    const to = new Date('2026-02-01T00:00:00.000Z');
    await closedTrade(t, book, { pnl: '10', exit: '2026-01-05T15:00:00.000Z' });
    const doomed = await closedTrade(t, book, { pnl: '-4', exit: '2026-01-06T15:00:00.000Z' });
    expect((await t.client.portfolio.getOverview.query()).realizedPnl).toBe('6');
    expect((await t.client.portfolio.getEquityCurve.query({ from, to })).points).toHaveLength(2);
    await t.client.portfolio.deleteTrade.mutate({ id: doomed });
    expect((await t.client.portfolio.getOverview.query()).realizedPnl).toBe('10');
    expect((await t.client.portfolio.getEquityCurve.query({ from, to })).points).toHaveLength(1);
  });
});

describe('isolation', () => {
  it('two users asking the same question each get their own cached figures', async () => {
    const db = harness.server.deps.database.db;
    const [alice, bob] = await Promise.all([trader(harness.server.url, db), trader(harness.server.url, db)]);
    const aliceBook = { strategyId: await strategyOf(alice), connectionId: await connectionOf(alice, 'alpaca') };
    const bobBook = { strategyId: await strategyOf(bob), connectionId: await connectionOf(bob, 'alpaca') };
    await closedTrade(alice, aliceBook, { pnl: '111', exit: '2026-01-05T15:00:00.000Z', symbol: 'AAPL' });
    await closedTrade(bob, bobBook, { pnl: '-222', exit: '2026-01-05T15:00:00.000Z', symbol: 'AAPL' });
    const input = { from: new Date('2026-01-01T00:00:00.000Z') };
    const before = counters();
    for (let round = 0; round < 2; round++) {
      expect((await alice.client.portfolio.getOverview.query(input)).realizedPnl).toBe('111');
      expect((await bob.client.portfolio.getOverview.query(input)).realizedPnl).toBe('-222');
    }
    // Computed once each, then served from each user's own entry.
    expect(portfolioCacheCounters.misses - before.misses).toBe(2);
    expect(portfolioCacheCounters.hits - before.hits).toBe(2);
  });
});

describe('single flight', () => {
  it('a burst of identical requests computes once and every caller gets the answer', async () => {
    const redis = harness.server.deps.redis;
    let computations = 0;
    let release: (value: { n: number }) => void = () => undefined;
    const computing = new Promise<{ n: number }>((resolve) => {
      release = resolve;
    });
    const key = { userId: 987_654, procedure: 'burst', input: { at: new Date('2026-01-05T00:00:00.000Z') } };
    const before = counters();
    const burst = Array.from({ length: 8 }, () =>
      cachedAnswer(redis, logger, key, () => {
        computations++;
        return computing;
      }),
    );
    await waitFor(async () => computations > 0 && portfolioCacheCounters.coalesced - before.coalesced === 7, 5_000, 5);
    release({ n: 42 });
    expect(await Promise.all(burst)).toEqual(Array(8).fill({ n: 42 }));
    expect(computations).toBe(1);
    // Stored: the next call is a hit, not a computation.
    expect(await cachedAnswer(redis, logger, key, async () => ({ n: -1 }))).toEqual({ n: 42 });
  });
});

describe('Redis away', () => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.close();
  });

  it('computes every answer uncached while Redis is cut, and caches again once it is back', async () => {
    const target = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 6379));
    try {
      target.port = String(proxy.port);
      app = await startTestApp({ redisUrl: target.toString() });
      const t = await trader(app.url, app.deps.database.db);
      const book = { strategyId: await strategyOf(t), connectionId: await connectionOf(t, 'tradovate') };
      await closedTrade(t, book, { pnl: '7', exit: '2026-01-05T15:00:00.000Z' });

      await proxy.cut();
      await waitFor(async () => app?.deps.redis.status !== 'ready', 5_000, 20);
      const before = counters();
      expect((await t.client.portfolio.getOverview.query()).realizedPnl).toBe('7');
      await closedTrade(t, book, { pnl: '1', exit: '2026-01-06T15:00:00.000Z' });
      expect((await t.client.portfolio.getOverview.query()).realizedPnl).toBe('8');
      expect(portfolioCacheCounters.bypassed - before.bypassed).toBe(2);

      await proxy.restore();
      await waitFor(async () => app?.deps.redis.status === 'ready', 10_000, 50);
      const back = counters();
      await t.client.portfolio.getOverview.query();
      await t.client.portfolio.getOverview.query();
      expect(portfolioCacheCounters.hits - back.hits).toBe(1);
    } finally {
      await proxy.close();
    }
  });
});
