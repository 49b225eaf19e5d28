/**
 * api process: Fastify with tRPC, the HTTP routes and the probes. Shutdown on SIGTERM/SIGINT: readiness goes false,
 * the server stops accepting and lets in-flight requests finish, then Redis and MySQL close, all under
 * SHUTDOWN_TIMEOUT_MS.
 */
import { buildApp } from './app.ts';
import { BrokerRegistry } from './brokers/registry.ts';
import { createDatabase } from './db/client.ts';
import { createRedis } from './jobs/connection.ts';
import { enqueueReplayJob } from './jobs/dead-letters.ts';
import { createSignalEnqueuer, enqueueApprovedSignal, enqueuePoll, enqueueSubmits } from './jobs/enqueue.ts';
import { closeQueues, createQueues } from './jobs/queue-factory.ts';
import { QUEUE_CONFIGS } from './jobs/queues/index.ts';
import { enqueueReconcileNow, reconcileSchedules, sessionSchedules } from './jobs/schedulers.ts';
import { env } from './lib/env.ts';
import { createLifecycle, handleShutdownSignals, runShutdown } from './lib/lifecycle.ts';
import { logger } from './lib/logger.ts';
import { installProcessGuards } from './lib/process-guards.ts';
import { warmSanitizer } from './lib/sanitize.ts';
import { setEventSink } from './services/events/publish.ts';
import { redisEventSink } from './services/events/redis-sink.ts';

const startedAt = performance.now();
installProcessGuards(logger);

const lifecycle = createLifecycle();
const database = createDatabase({ url: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE, queueLimit: env.DB_QUEUE_LIMIT });
const redis = createRedis(env.REDIS_URL, 'producer', logger);
const brokers = new BrokerRegistry();
// Real-time events this process produces (webhook receipts, cancellations) go to the users' Redis streams.
setEventSink(redisEventSink(redis, logger));
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
});

handleShutdownSignals(
  lifecycle,
  () =>
    runShutdown(
      [
        { name: 'http', run: () => app.close() },
        { name: 'brokers', run: async () => brokers.close() },
        { name: 'queues', run: () => closeQueues(queues) },
        { name: 'redis', run: () => redis.quit() },
        { name: 'database', run: () => database.close() },
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
