/**
 * What an administrator sees of the system's health: `health.details` (component latencies, breakers, queue depths,
 * open dead letters, pool use) and `admin.queues.stats`, both for administrators only; with the queues unreachable,
 * the details still answer and say so, and the queue statistics answer "unavailable".
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetters } from '../../drizzle/schema/dead_letters.ts';
import { users } from '../../drizzle/schema/users.ts';
import { createRedis } from '../../server/jobs/connection.ts';
import { closeQueues, createQueues, type Queues } from '../../server/jobs/queue-factory.ts';
import { queueStatsReader } from '../../server/jobs/queue-stats.ts';
import { QUEUE_CONFIGS } from '../../server/jobs/queues/index.ts';
import { env } from '../../server/lib/env.ts';
import { logger } from '../../server/lib/logger.ts';
import type { RedisClient } from '../../server/lib/redis-client.ts';
import { QUEUE_NAMES } from '../../shared/jobs.ts';
import { startTestApp, type TestApp, waitFor } from '../helpers/app.ts';
import { apiClient, type SignedInUser, signUp, trpcFailure } from '../helpers/client.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

const { db } = useTestDatabase();
let server: TestApp;
let admin: SignedInUser;
let trader: SignedInUser;

beforeAll(async () => {
  server = await startTestApp();
  server.deps.readQueueStats = queueStatsReader(server.queues);
  admin = await signUpAdmin();
  trader = await signUp(server.url);
});
afterAll(() => server.close());

/** A fresh user promoted in the database, signed in again so their token carries the role. */
async function signUpAdmin(): Promise<SignedInUser> {
  const user = await signUp(server.url, 'Admin');
  await db.update(users).set({ role: 'admin' }).where(eq(users.id, user.id));
  const session = await apiClient(server.url).auth.login.mutate({ email: user.email, password: user.password });
  return { ...user, accessToken: session.accessToken, client: apiClient(server.url, session.accessToken) };
}

async function insertDeadLetter(status: 'open' | 'discarded') {
  await db
    .insert(deadLetters)
    .values({ queue: 'orders', jobName: 'submit-order', payload: { orderId: 1 }, error: 'x', status });
}

describe('health.details', () => {
  it('shows an administrator every component, the breakers, queues, open dead letters and the pool', async () => {
    await insertDeadLetter('open');
    await insertDeadLetter('open');
    await insertDeadLetter('discarded');
    server.deps.brokers.forConnection({
      id: 987_654,
      broker: 'alpaca',
      environment: 'paper',
      credentials: { keyId: 'PKHEALTHDETAILS0001', secretKey: 'health-details-secret' },
      version: '1',
    });
    await server.deps.enqueueSignal(424_242);

    const details = await admin.client.health.details.query();

    expect(details.status, JSON.stringify(details.components)).toBe('ok');
    expect(details.draining).toBe(false);
    for (const component of Object.values(details.components)) {
      expect(component.ok).toBe(true);
      expect(component.latencyMs).toBeGreaterThanOrEqual(0);
    }
    expect(details.breakers).toContainEqual({ connectionId: 987_654, broker: 'alpaca', state: 'closed' });
    expect(details.queues?.queues.map((queue) => queue.name)).toEqual([...QUEUE_NAMES]);
    expect(details.queues?.queues.find((queue) => queue.name === 'signals')?.counts.waiting).toBe(1);
    expect(details.deadLetters).toEqual({ open: 2 });
    expect(details.pool.limit).toBe(4);
    expect(details.pool.open).toBeGreaterThanOrEqual(1);
    expect(details.pool.inUse + details.pool.idle).toBe(details.pool.open);
    expect(details.process.rssBytes).toBeGreaterThan(0);
    expect(JSON.stringify(details)).not.toContain('health-details-secret');
  });

  it('is refused to a trader and to an anonymous caller', async () => {
    expect((await trpcFailure(() => trader.client.health.details.query())).data?.code).toBe('FORBIDDEN');
    expect((await trpcFailure(() => apiClient(server.url).health.details.query())).data?.code).toBe('UNAUTHORIZED');
  });
});

describe('admin.queues.stats', () => {
  it('counts the jobs of every queue by state, read at the call', async () => {
    await server.deps.enqueueSignal(515_151);
    const stats = await admin.client.admin.queues.stats.query();
    expect(stats.queues.map((queue) => queue.name)).toEqual([...QUEUE_NAMES]);
    const signals = stats.queues.find((queue) => queue.name === 'signals');
    expect(signals?.counts).toMatchObject({ waiting: 2, active: 0, failed: 0 });
    expect(Object.keys(signals?.counts ?? {})).toEqual(
      expect.arrayContaining(['waiting', 'active', 'delayed', 'prioritized', 'paused', 'failed', 'completed']),
    );
    expect(Date.now() - stats.readAt.getTime()).toBeLessThan(5_000);
  });

  it('is refused to a trader', async () => {
    expect((await trpcFailure(() => trader.client.admin.queues.stats.query())).data?.code).toBe('FORBIDDEN');
  });
});

describe('with the queues unreachable', () => {
  let proxy: TcpProxy;
  let redis: RedisClient;
  let queues: Queues;
  beforeAll(async () => {
    const redisUrl = new URL(env.REDIS_URL);
    proxy = await startTcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
    redisUrl.hostname = '127.0.0.1';
    redisUrl.port = String(proxy.port);
    redis = createRedis(redisUrl.toString(), 'producer', logger);
    queues = createQueues(QUEUE_CONFIGS, redis, logger);
    await waitFor(async () => redis.status === 'ready');
    server.deps.readQueueStats = queueStatsReader(queues);
    await proxy.cut();
    await waitFor(async () => redis.status !== 'ready');
  });
  afterAll(async () => {
    server.deps.readQueueStats = queueStatsReader(server.queues);
    await closeQueues(queues);
    redis.disconnect();
    await proxy.close();
  });

  it('health.details still answers, with the queues marked unreadable and the rest intact', async () => {
    const details = await admin.client.health.details.query();
    expect(details.queues).toBeNull();
    expect(details.queuesError).toEqual(expect.any(String));
    expect(details.deadLetters?.open).toBeGreaterThanOrEqual(2);
    expect(details.components.database.ok).toBe(true);
  });

  it('admin.queues.stats answers service-unavailable', async () => {
    const error = await trpcFailure(() => admin.client.admin.queues.stats.query());
    expect(error.data).toMatchObject({ code: 'SERVICE_UNAVAILABLE', appCode: 'service-unavailable' });
  });
});
