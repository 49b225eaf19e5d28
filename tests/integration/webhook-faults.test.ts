/**
 * Ingestion when its dependencies fail (SPEC §4 step 6, §13 R2/R3), with real MariaDB and Redis behind TCP proxies
 * the test cuts: Redis down still accepts (the log stays `received` for the outbox sweep), MySQL down or the pool
 * exhausted answers 503 service-unavailable within the request's bounded wait, and both recover on their own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../server/jobs/connection.ts';
import { enqueueSignals } from '../../server/jobs/enqueue.ts';
import { closeQueues, createQueues, type Queues } from '../../server/jobs/queue-factory.ts';
import { QUEUE_CONFIGS } from '../../server/jobs/queues/index.ts';
import { env } from '../../server/lib/env.ts';
import { logger } from '../../server/lib/logger.ts';
import type { RedisClient } from '../../server/lib/redis-client.ts';
import { sweepOutbox } from '../../server/services/webhooks/outbox-sweep.ts';
import { startTestApp, type TestApp, waitFor } from '../helpers/app.ts';
import { signUp } from '../helpers/client.ts';
import { testDatabaseUrl } from '../helpers/db.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { createWebhookStrategy, postAlert, signalJob, webhookLog } from '../helpers/webhooks.ts';

/** `url` with its host and port replaced by the proxy's. */
function throughProxy(url: string, proxy: TcpProxy): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(proxy.port);
  return parsed.toString();
}

async function proxyFor(url: string, defaultPort: number): Promise<TcpProxy> {
  const parsed = new URL(url);
  return startTcpProxy(parsed.hostname, Number(parsed.port || defaultPort));
}

let main: TestApp;
let token: string;
// Queues on a direct connection: the test still sees Redis while the app's proxy is cut.
let producer: RedisClient;
let direct: Queues;
beforeAll(async () => {
  main = await startTestApp();
  const trader = await signUp(main.url);
  ({ token } = await createWebhookStrategy(trader.client));
  producer = createRedis(env.REDIS_URL, 'producer', logger);
  direct = createQueues(QUEUE_CONFIGS, producer, logger);
});
afterAll(async () => {
  await closeQueues(direct);
  producer.disconnect();
  await main.close();
});

let counter = 0;
const alert = () => JSON.stringify({ ticker: 'MES1!', action: 'buy', n: ++counter });

describe('Redis down', () => {
  let proxy: TcpProxy;
  let app: TestApp;
  beforeAll(async () => {
    proxy = await proxyFor(env.REDIS_URL, 6379);
    app = await startTestApp({ redisUrl: throughProxy(env.REDIS_URL, proxy) });
    await waitFor(async () => app.deps.redis.status === 'ready');
  });
  afterAll(async () => {
    await app.close();
    await proxy.close();
  });

  it('still accepts alerts: the log stays `received` and the outbox sweep enqueues it later', async () => {
    const before = await postAlert(app.url, token, alert());
    expect(before.status).toBe(202);
    expect(await signalJob(direct, before.body.id)).toBeDefined();

    await proxy.cut();
    await waitFor(async () => app.deps.redis.status !== 'ready');
    const during = await postAlert(app.url, token, alert());
    expect(during.status).toBe(202);
    expect(during.body).toEqual({ ok: true, id: expect.any(Number), status: 'accepted' });
    expect(during.elapsedMs).toBeLessThan(1_000);
    const row = await webhookLog(main.deps.database.db, during.body.id);
    expect(row.status).toBe('received');
    expect(await signalJob(direct, row.id)).toBeUndefined();

    // The worker's sweep, 30 s on, finds the log still `received` and enqueues it.
    const ctx = { db: main.deps.database.db, log: logger, requestId: 'sweep', actor: { type: 'system' as const } };
    await sweepOutbox(ctx, (ids) => enqueueSignals(direct, ids), { now: new Date(Date.now() + 31_000) });
    expect(await signalJob(direct, row.id)).toBeDefined();

    await proxy.restore();
    await waitFor(async () => app.deps.redis.status === 'ready');
    const after = await postAlert(app.url, token, alert());
    expect(after.status).toBe(202);
    expect(await signalJob(direct, after.body.id)).toBeDefined();
  });
});

describe('MySQL down', () => {
  let proxy: TcpProxy;
  let app: TestApp;
  beforeAll(async () => {
    proxy = await proxyFor(testDatabaseUrl(), 3306);
    app = await startTestApp({ databaseUrl: throughProxy(testDatabaseUrl(), proxy) });
  });
  afterAll(async () => {
    await proxy.restore().catch(() => undefined);
    await app.close();
    await proxy.close();
  });

  it('answers 503 service-unavailable at once, serves cached unknown tokens, and recovers', async () => {
    expect((await postAlert(app.url, token, alert())).status).toBe(202);
    const unknown = 'U'.repeat(43);
    expect((await postAlert(app.url, unknown, alert())).status).toBe(404);

    await proxy.cut();
    const down = await postAlert(app.url, token, alert());
    expect(down.status).toBe(503);
    expect(down.body).toEqual({
      ok: false,
      code: 'service-unavailable',
      message: expect.any(String),
      requestId: expect.any(String),
    });
    expect(down.elapsedMs).toBeLessThan(2_500);
    // An unknown token cached a moment ago is still refused without the database; a new one cannot be looked up.
    expect((await postAlert(app.url, unknown, alert())).status).toBe(404);
    expect((await postAlert(app.url, 'V'.repeat(43), alert())).status).toBe(503);

    await proxy.restore();
    await waitFor(async () => (await postAlert(app.url, token, alert())).status === 202, 10_000, 200);
  });

  it('answers 503 within the bounded wait when the pool is exhausted', async () => {
    expect((await postAlert(main.url, token, alert())).status).toBe(202);
    const { pool } = main.deps.database;
    // The test app's pool has 4 connections: hold them all for 4 s.
    const sleepers = Array.from({ length: 4 }, () => pool.query('SELECT SLEEP(4)'));
    const answer = await postAlert(main.url, token, alert());
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ ok: false, code: 'service-unavailable' });
    expect(answer.elapsedMs).toBeLessThan(3_000);
    await Promise.all(sleepers);
  });
});
