/**
 * health.details lists every live api and worker process, whichever api answers: each publishes a snapshot of itself
 * (breakers per connection, MySQL pools, queues) to Redis. Real child processes (`node server/api.ts`,
 * `node server/worker.ts`) against this file's database and Redis prefix, Alpaca pointed at an in-process fake:
 * a worker whose breaker opened shows it to the api, the api's read pool shows with DATABASE_READ_URL, a process
 * stopped cleanly leaves the list at once, one SIGKILLed once its snapshot expires. Publishing with Redis away skips.
 *
 * Time on the 2-core machine: ~50 s, most of it the SIGKILLed worker's snapshot running out (30 s).
 */
import { hostname } from 'node:os';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from '../../drizzle/schema/users.ts';
import { createRedis, type RedisClient } from '../../server/jobs/connection.ts';
import { env } from '../../server/lib/env.ts';
import { logger } from '../../server/lib/logger.ts';
import { InstancePublisher } from '../../server/services/health/instance-publisher.ts';
import { instancesKey } from '../../server/services/health/instances.ts';
import type { HealthDetails, InstanceHealth } from '../../shared/schemas/health.ts';
import { type FakeAlpaca, startFakeAlpaca } from '../fakes/alpaca.ts';
import { type ApiProcess, startApiProcess } from '../helpers/api-process.ts';
import { waitFor } from '../helpers/app.ts';
import { type ApiClient, apiClient, signUp } from '../helpers/client.ts';
import { useReplicaDatabase, useTestDatabase } from '../helpers/db.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';
import { postAlert } from '../helpers/webhooks.ts';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.ts';

/** What a snapshot lives for without a new one: three times the 10 s publishing interval. */
const SNAPSHOT_LIFETIME_MS = 30_000;

const { db } = useTestDatabase();
const replicaUrl = useReplicaDatabase();
let alpaca: FakeAlpaca;
let api: ApiProcess;
let worker: WorkerProcess;
let admin: ApiClient;
let redis: RedisClient;

beforeAll(async () => {
  alpaca = await startFakeAlpaca({ prices: { AAPL: '100' } });
  rememberSecret('fake-secret');
  // Both with the replica set, as in one deployment's environment: only the api opens a pool on it.
  const shared = { ALPACA_PAPER_URL: alpaca.url, ALPACA_LIVE_URL: alpaca.url, DATABASE_READ_URL: replicaUrl };
  [api, worker] = await Promise.all([startApiProcess(shared), startWorkerProcess(shared)]);
  await Promise.all([api.ready(), worker.ready()]);
  admin = await signUpAdmin();
  redis = createRedis(env.REDIS_URL, 'producer', logger);
}, 60_000);

afterAll(async () => {
  await Promise.all([api?.kill(), worker?.kill()]);
  redis?.disconnect();
  await alpaca?.close();
});

/** A user promoted in the database and signed in again, so their token carries the role. */
async function signUpAdmin(): Promise<ApiClient> {
  const user = await signUp(api.url, 'Admin');
  await db.update(users).set({ role: 'admin' }).where(eq(users.id, user.id));
  const session = await apiClient(api.url).auth.login.mutate({ email: user.email, password: user.password });
  rememberSecret(session.accessToken, session.refreshToken);
  return apiClient(api.url, session.accessToken);
}

const idOf = (pid: number | undefined) => `${hostname()}:${pid}`;
const details = (): Promise<HealthDetails> => admin.health.details.query();
const instanceOf = (answer: HealthDetails, pid: number | undefined): InstanceHealth | undefined =>
  answer.instances?.find((instance) => instance.id === idOf(pid));

/** Orders sent at once to a broker answering 503: more failed calls than the breaker's volume threshold (5). */
const FAILING_ORDERS = 6;

/**
 * An Alpaca paper connection at the fake and FAILING_ORDERS strategies routed to it: one alert each is an order each
 * (a strategy holds its next order back while one is pending).
 */
async function connectionWithStrategies(): Promise<{ connectionId: number; tokens: string[] }> {
  const connection = await admin.brokers.connect.mutate({
    broker: 'alpaca',
    name: 'Instances',
    environment: 'paper',
    credentials: { keyId: 'PKFAKEKEY0000000001', secretKey: 'fake-secret' },
  });
  const tokens: string[] = [];
  for (let i = 0; i < FAILING_ORDERS; i++) {
    const created = await admin.strategies.create.mutate({ name: `Instances ${i}` });
    rememberSecret(created.webhookToken);
    await admin.routing.create.mutate({ strategyId: created.strategy.id, brokerConnectionId: connection.id });
    tokens.push(created.webhookToken);
  }
  return { connectionId: connection.id, tokens };
}

describe('health.details asked of an api', () => {
  it('shows a worker in another process with the breaker of a connection whose broker answers 5xx open', async () => {
    const { connectionId, tokens } = await connectionWithStrategies();
    alpaca.controls.failNext(1_000_000, { status: 503 });
    try {
      for (const [i, token] of tokens.entries()) {
        const body = JSON.stringify({ ticker: 'AAPL', action: 'buy', quantity: 1, idempotencyKey: `instances-${i}` });
        expect((await postAlert(api.url, token, body)).status).toBe(202);
      }
      let answer: HealthDetails | undefined;
      await waitFor(
        async () => {
          answer = await details();
          const breaker = instanceOf(answer, worker.child.pid)?.breakers.find((b) => b.connectionId === connectionId);
          return breaker?.state === 'open';
        },
        15_000,
        500,
      );
      if (!answer) throw new Error('no answer');

      const seen = instanceOf(answer, worker.child.pid);
      expect(seen).toMatchObject({ role: 'worker', draining: false, version: expect.any(String) });
      expect(seen?.breakers.find((b) => b.connectionId === connectionId)).toMatchObject({
        broker: 'alpaca',
        state: 'open',
        failures: expect.any(Number),
      });
      expect(seen?.breakers.find((b) => b.connectionId === connectionId)?.failures).toBeGreaterThan(0);
      expect(seen?.snapshotAgeMs).toBeLessThan(SNAPSHOT_LIFETIME_MS);
      expect(seen?.startedAt.getTime()).toBeLessThanOrEqual(Date.now());
      expect(seen?.queues.find((queue) => queue.name === 'orders')?.concurrency).toBeGreaterThan(0);
      // The answering api lists itself too, first (apis before workers); its own breakers are not the worker's.
      expect(answer.instances?.map((instance) => instance.id)).toEqual([idOf(api.child.pid), idOf(worker.child.pid)]);
      expect(answer.breakers.some((b) => b.connectionId === connectionId && b.state === 'open')).toBe(false);
    } finally {
      alpaca.controls.clearFaults();
    }
  });

  it('shows the read pool of an api with DATABASE_READ_URL beside its primary, and only the primary of a worker', async () => {
    const answer = await details();
    const apiPools = instanceOf(answer, api.child.pid)?.pools;
    expect(apiPools?.primary.limit).toBe(env.DB_POOL_SIZE);
    expect(apiPools?.replica?.limit).toBe(env.DB_POOL_SIZE);
    const workerPools = instanceOf(answer, worker.child.pid)?.pools;
    expect(workerPools?.primary.open).toBeGreaterThan(0);
    expect(workerPools?.replica).toBeUndefined();
  });

  it('drops a worker stopped cleanly at once', async () => {
    expect(instanceOf(await details(), worker.child.pid)).toBeDefined();
    expect(await worker.stop()).toBe(0);
    expect(instanceOf(await details(), worker.child.pid)).toBeUndefined();
  });

  it('drops a SIGKILLed worker once its snapshot expires, and deletes the stale entry', async () => {
    const killed = await startWorkerProcess();
    try {
      await killed.ready();
      await waitFor(async () => instanceOf(await details(), killed.child.pid) !== undefined, 10_000, 500);
      await killed.kill();
      // Nobody removed it: it stays listed, its snapshot ageing, until it expires.
      expect(instanceOf(await details(), killed.child.pid)).toBeDefined();
      await waitFor(
        async () => instanceOf(await details(), killed.child.pid) === undefined,
        SNAPSHOT_LIFETIME_MS + 5_000,
        500,
      );
      expect(await redis.hexists(instancesKey(), idOf(killed.child.pid))).toBe(0);
      // The api that answered is still there.
      expect(instanceOf(await details(), api.child.pid)?.role).toBe('api');
    } finally {
      await killed.kill();
    }
  }, 60_000);
});

describe('publishing with Redis unreachable', () => {
  it('skips the snapshot without failing or waiting, and stops all the same', async () => {
    const redisUrl = new URL(env.REDIS_URL);
    const proxy = await startTcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
    redisUrl.hostname = '127.0.0.1';
    redisUrl.port = String(proxy.port);
    const viaProxy = createRedis(redisUrl.toString(), 'producer', logger);
    const publisher = new InstancePublisher({
      redis: viaProxy,
      role: 'worker',
      log: logger,
      intervalMs: 60_000,
      sources: {
        brokers: { breakerDetails: () => [], onBreakerChange: () => undefined },
        pools: () => ({}),
        draining: () => false,
      },
    });
    try {
      await waitFor(async () => viaProxy.status === 'ready');
      await publisher.publish();
      expect(await redis.hexists(instancesKey(), publisher.id)).toBe(1);

      await proxy.cut();
      await waitFor(async () => viaProxy.status !== 'ready');
      const startedAt = performance.now();
      await expect(publisher.publish()).resolves.toBeUndefined();
      await expect(publisher.publish()).resolves.toBeUndefined();
      expect(performance.now() - startedAt).toBeLessThan(1_000);
      await expect(publisher.stop()).resolves.toBeUndefined();
      expect(performance.now() - startedAt).toBeLessThan(3_000);
    } finally {
      viaProxy.disconnect();
      await proxy.close();
      await redis.hdel(instancesKey(), publisher.id);
    }
  });
});
