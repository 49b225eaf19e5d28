/**
 * Builds the real api on a loopback port against the test database and Redis, for tests that go over HTTP.
 */
import type { AddressInfo } from 'node:net';
import type { AnyRouter } from '@trpc/server';
import { type AppDeps, buildApp } from '../../server/app.ts';
import { BrokerRegistry } from '../../server/brokers/registry.ts';
import { createDatabase } from '../../server/db/client.ts';
import { createRedis } from '../../server/jobs/connection.ts';
import { enqueueReplayJob } from '../../server/jobs/dead-letters.ts';
import { createSignalEnqueuer, enqueueApprovedSignal, enqueuePoll, enqueueSubmits } from '../../server/jobs/enqueue.ts';
import { closeQueues, createQueues, type Queues } from '../../server/jobs/queue-factory.ts';
import { queueStatsReader } from '../../server/jobs/queue-stats.ts';
import { QUEUE_CONFIGS } from '../../server/jobs/queues/index.ts';
import { enqueueReconcileNow, reconcileSchedules, sessionSchedules } from '../../server/jobs/schedulers.ts';
import { env } from '../../server/lib/env.ts';
import { createLifecycle } from '../../server/lib/lifecycle.ts';
import { logger } from '../../server/lib/logger.ts';
import type { RateLimitConfig } from '../../server/lib/rate-limit.ts';

export interface TestApp {
  url: string;
  deps: AppDeps;
  app: Awaited<ReturnType<typeof buildApp>>;
  /** The producer queues the app enqueues into (on its Redis connection and this run's prefix). */
  queues: Queues;
  close(): Promise<void>;
}

export interface TestAppOptions {
  router?: AnyRouter;
  databaseUrl?: string;
  /** A read replica (DATABASE_READ_URL), e.g. useReplicaDatabase's stand-in. */
  readUrl?: string;
  /** e.g. a TCP proxy in front of Redis, to cut it. */
  redisUrl?: string;
  /** `redisUrl` names Redis Cluster seed nodes (REDIS_CLUSTER by default). */
  redisCluster?: boolean;
  /** Small budgets, so a test reaches a limit in a few calls. */
  rateLimits?: Partial<RateLimitConfig>;
  /** Broker adapters pointed at the fakes; by default the env's broker URLs. */
  brokers?: BrokerRegistry;
  /** Webhook ingestion settings: a short dedup window, a clock the test moves. */
  ingest?: AppDeps['ingest'];
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const redis = createRedis(options.redisUrl ?? env.REDIS_URL, 'producer', logger, { cluster: options.redisCluster });
  const queues = createQueues(QUEUE_CONFIGS, redis, logger);
  const enqueueSignal = createSignalEnqueuer(queues);
  const deps: AppDeps = {
    database: createDatabase({
      url: options.databaseUrl ?? env.DATABASE_URL,
      readUrl: options.readUrl,
      poolSize: 4,
      queueLimit: 100,
    }),
    redis,
    lifecycle: createLifecycle(),
    brokers: options.brokers ?? new BrokerRegistry(),
    // As in server/api.ts: no add while Redis is away, the outbox sweep enqueues the log.
    enqueueSignal: (webhookLogId) =>
      redis.status === 'ready'
        ? enqueueSignal(webhookLogId)
        : Promise.reject(new Error(`Redis is ${redis.status}: signal job left to the outbox sweep`)),
    enqueueApprovedSignal: (webhookLogId) => enqueueApprovedSignal(queues, webhookLogId),
    enqueueSubmit: (orderIds) => enqueueSubmits(queues, orderIds),
    enqueuePoll: (orderId, poll, delayMs) => enqueuePoll(queues, orderId, poll, delayMs),
    enqueueReplay: (queue, name, payload, jobId) => enqueueReplayJob(queues, queue, name, payload, jobId),
    enqueueReconcile: (connectionId) => enqueueReconcileNow(queues, connectionId),
    reconcileSchedules: reconcileSchedules(queues),
    sessionSchedules: sessionSchedules(queues),
    readQueueStats: queueStatsReader(queues),
    ingest: options.ingest,
  };
  // Every test signs its users up from 127.0.0.1, far more than the production sign-up budget per address allows.
  const rateLimits = { registerPerIp: { points: 10_000, durationS: 3_600 }, ...options.rateLimits };
  const app = await buildApp(deps, { router: options.router, rateLimits });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deps,
    app,
    queues,
    async close() {
      await app.close();
      await closeQueues(queues);
      deps.redis.disconnect();
      deps.brokers.close();
      await deps.database.close();
    },
  };
}

/** Polls `check` until it returns true or `timeoutMs` passes; for conditions no event announces. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
