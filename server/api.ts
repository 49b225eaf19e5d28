/**
 * api process: Fastify with tRPC, the HTTP routes, the probes and /metrics. Shutdown on SIGTERM/SIGINT: readiness
 * goes false and the api keeps serving for SHUTDOWN_GRACE_MS (load balancers stop routing to it meanwhile), then
 * stops accepting and lets in-flight requests finish, then Redis and MySQL close and Sentry sends what it holds,
 * all under SHUTDOWN_TIMEOUT_MS.
 */
// First: Sentry starts before the libraries it watches are loaded.
import './instrument.ts';
import { setTimeout as delay } from 'node:timers/promises';
import { buildApp } from './app.ts';
import { BrokerRegistry } from './brokers/registry.ts';
import { createDatabase } from './db/client.ts';
import { createRedis } from './jobs/connection.ts';
import { enqueueReplayJob } from './jobs/dead-letters.ts';
import { createSignalEnqueuer, enqueueApprovedSignal, enqueuePoll, enqueueSubmits } from './jobs/enqueue.ts';
import { closeQueues, createQueues } from './jobs/queue-factory.ts';
import { queueStatsReader } from './jobs/queue-stats.ts';
import { QUEUE_CONFIGS } from './jobs/queues/index.ts';
import { enqueueReconcileNow, reconcileSchedules, sessionSchedules } from './jobs/schedulers.ts';
import { env } from './lib/env.ts';
import { createLifecycle, handleShutdownSignals, runShutdown } from './lib/lifecycle.ts';
import { logger } from './lib/logger.ts';
import { installProcessGuards } from './lib/process-guards.ts';
import { notingWrites, redisRecentWrites } from './lib/recent-writes.ts';
import { warmSanitizer } from './lib/sanitize.ts';
import { flushSentry } from './lib/sentry.ts';
import { setEventSink } from './services/events/publish.ts';
import { redisEventSink } from './services/events/redis-sink.ts';
import { InstancePublisher } from './services/health/instance-publisher.ts';
import { redisPortfolioSink } from './services/portfolio/cache.ts';
import { setPortfolioSink } from './services/portfolio/invalidation.ts';

const startedAt = performance.now();
installProcessGuards(logger);

const lifecycle = createLifecycle();
// tRPC queries may read the replica (server/trpc/read-routing.ts); everything else here reads the primary.
const database = createDatabase({
  url: env.DATABASE_URL,
  readUrl: env.DATABASE_READ_URL,
  poolSize: env.DB_POOL_SIZE,
  queueLimit: env.DB_QUEUE_LIMIT,
});
const redis = createRedis(env.REDIS_URL, 'producer', logger);
const brokers = new BrokerRegistry();
// With a replica, each change announced to a user keeps their reads on the primary a moment (lib/recent-writes.ts).
const recentWrites = database.hasReplica ? redisRecentWrites(redis, logger) : null;
// Real-time events this process produces (webhook receipts, cancellations) go to the users' Redis streams.
const eventSink = redisEventSink(redis, logger);
setEventSink({ publish: notingWrites(recentWrites, (userId, event) => eventSink.publish(userId, event)) });
// Trade changes made here (adopting a broker position) drop the owner's cached portfolio answers.
const portfolioSink = redisPortfolioSink(redis, logger);
setPortfolioSink({
  invalidate: notingWrites(recentWrites, (userId) => portfolioSink.invalidate(userId)),
  rememberMarks: (connectionId, positions, at) => portfolioSink.rememberMarks(connectionId, positions, at),
});
// Producer queues on the fail-fast connection: an add during a Redis outage rejects at once (PITFALLS trap 3).
const queues = createQueues(QUEUE_CONFIGS, redis, logger);
const enqueueSignal = createSignalEnqueuer(queues);
const app = await buildApp({
  database,
  redis,
  lifecycle,
  brokers,
  // While Redis is away, skip the add (and enqueue's wait for a first connection): the outbox sweep enqueues the log.
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
});
// This process's breakers and pools, published for health.details, which any api answers for every process.
const instance = new InstancePublisher({
  redis,
  role: 'api',
  log: logger,
  sources: { brokers, pools: () => database.poolStatsByName(), draining: () => lifecycle.draining },
});
instance.start();

handleShutdownSignals(
  lifecycle,
  () =>
    runShutdown(
      [
        // Readiness is already 503: keep serving while load balancers notice (health.details shows it draining),
        // then stop accepting.
        { name: 'grace', run: () => Promise.all([instance.publish(), delay(env.SHUTDOWN_GRACE_MS)]) },
        {
          name: 'http',
          run: () => {
            lifecycle.startClosing();
            return app.close();
          },
        },
        { name: 'instance', run: () => instance.stop() },
        { name: 'brokers', run: async () => brokers.close() },
        { name: 'queues', run: () => closeQueues(queues) },
        { name: 'redis', run: () => redis.quit() },
        { name: 'database', run: () => database.close() },
        { name: 'sentry', run: () => flushSentry() },
      ],
      env.SHUTDOWN_TIMEOUT_MS,
      logger,
    ),
  logger,
);

// Loaded before listening: once the api reports ready it is never stalled by loading the sanitizer's DOM.
await warmSanitizer();
await app.listen({ port: env.PORT, host: env.HOST });
logger.info({ port: env.PORT, startupMs: Math.round(performance.now() - startedAt) }, 'api listening');
