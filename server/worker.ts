/**
 * worker process: BullMQ processors and job schedulers, plus /health/live, /health/ready, /health and /metrics on
 * WORKER_PORT (server/http/worker-server.ts). Shutdown: readiness goes false, workers stop fetching and finish active
 * jobs (raced against the deadline: BullMQ's close has no timeout), then queues, the health server, Redis and MySQL
 * close, and Sentry sends what it holds.
 */
// First: Sentry starts before the libraries it watches are loaded.
import './instrument.ts';
import type { Processor } from 'bullmq';
import { BrokerRegistry } from './brokers/registry.ts';
import { createDatabase } from './db/client.ts';
import { buildWorkerServer } from './http/worker-server.ts';
import { ActiveJobs } from './jobs/active-jobs.ts';
import { createRedis } from './jobs/connection.ts';
import { enqueueDeadLetterRecord } from './jobs/dead-letters.ts';
import { deadLettersProcessor } from './jobs/processors/dead-letters.ts';
import { maintenanceProcessor } from './jobs/processors/maintenance.ts';
import { notifyProcessor } from './jobs/processors/notify.ts';
import { orderStatusProcessor, ordersProcessor } from './jobs/processors/orders.ts';
import { reconcileProcessor } from './jobs/processors/reconcile.ts';
import { sessionsProcessor } from './jobs/processors/sessions.ts';
import { signalsProcessor } from './jobs/processors/signals.ts';
import { closeQueues, createQueues, createWorker, type QueueConfig } from './jobs/queue-factory.ts';
import { queueStatsReader } from './jobs/queue-stats.ts';
import {
  deadLettersQueue,
  maintenanceQueue,
  notifyQueue,
  orderStatusQueue,
  ordersQueue,
  QUEUE_CONFIGS,
  reconcileQueue,
  sessionsQueue,
  signalsQueue,
} from './jobs/queues/index.ts';
import { registerSchedulers } from './jobs/schedulers.ts';
import { env } from './lib/env.ts';
import { createLifecycle, handleShutdownSignals, runShutdown } from './lib/lifecycle.ts';
import { logger } from './lib/logger.ts';
import { addMetricSources } from './lib/metrics.ts';
import { installProcessGuards } from './lib/process-guards.ts';
import { notingWrites, redisRecentWrites } from './lib/recent-writes.ts';
import { flushSentry } from './lib/sentry.ts';
import { setEventSink } from './services/events/publish.ts';
import { redisEventSink } from './services/events/redis-sink.ts';
import { InstancePublisher } from './services/health/instance-publisher.ts';
import { registerExecutionReplayHooks } from './services/orders/replay-hook.ts';
import { redisPortfolioSink } from './services/portfolio/cache.ts';
import { setPortfolioSink } from './services/portfolio/invalidation.ts';

installProcessGuards(logger);
// Dead letters may be replayed from any process that holds their services, this one included.
registerExecutionReplayHooks();

const lifecycle = createLifecycle();
// The primary only, whatever DATABASE_READ_URL says: a job's reads decide what is sent to a broker and must see the
// latest commit (server/trpc/read-routing.ts).
const database = createDatabase({ url: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE, queueLimit: env.DB_QUEUE_LIMIT });
// Workers block on Redis and must survive blips; producers (schedulers, the outbox sweep, health) must fail fast.
const workerRedis = createRedis(env.REDIS_URL, 'worker', logger);
const producerRedis = createRedis(env.REDIS_URL, 'producer', logger);

const queues = createQueues(QUEUE_CONFIGS, producerRedis, logger);
// When the api reads a replica, each change announced to a user keeps their reads on the primary a moment: the app
// refetches on an event, and a replica still behind would answer, and the portfolio cache keep, the older state.
const recentWrites = env.DATABASE_READ_URL ? redisRecentWrites(producerRedis, logger) : null;
// Real-time events of orders and notifications go to the users' Redis streams, which every api process reads.
const eventSink = redisEventSink(producerRedis, logger);
setEventSink({ publish: notingWrites(recentWrites, (userId, event) => eventSink.publish(userId, event)) });
// Recorded fills drop their owner's cached portfolio answers; broker prices seen by reconciliation become marks.
const portfolioSink = redisPortfolioSink(producerRedis, logger);
setPortfolioSink({
  invalidate: notingWrites(recentWrites, (userId) => portfolioSink.invalidate(userId)),
  rememberMarks: (connectionId, positions, at) => portfolioSink.rememberMarks(connectionId, positions, at),
});
// One registry per process: breakers, pacing and broker sessions are shared by every job it runs.
const brokers = new BrokerRegistry();
// Jobs running now per queue, for health.details.
const activeJobs = new ActiveJobs();
// A job of any queue given up on is handed to the dead-letter recorder (the recorder's own queue excepted).
const startWorker = (config: QueueConfig, processor: Processor) =>
  createWorker(config, activeJobs.track(config, processor), workerRedis, logger, {
    onGivenUp: (job) => enqueueDeadLetterRecord(queues, config.name, job, logger),
  });
// One worker per queue that has a processor; the other queues get theirs with the issues that fill them.
const workers = [
  startWorker(signalsQueue, signalsProcessor({ database, log: logger, registry: brokers, queues })),
  startWorker(ordersQueue, ordersProcessor({ database, log: logger, registry: brokers, queues })),
  startWorker(orderStatusQueue, orderStatusProcessor({ database, log: logger, registry: brokers, queues })),
  startWorker(maintenanceQueue, maintenanceProcessor({ database, log: logger, queues })),
  startWorker(deadLettersQueue, deadLettersProcessor({ database, log: logger, queues })),
  // Reconciliation runs per connection and the sync of their schedulers with the database.
  startWorker(reconcileQueue, reconcileProcessor({ database, log: logger, registry: brokers, queues })),
  // Broker-session upkeep per connection (renewals, tickles, key checks) and the sync of their schedulers.
  startWorker(sessionsQueue, sessionsProcessor({ database, log: logger, registry: brokers, queues })),
  // Channel deliveries and the notification outbox sweep; the processor holds this process's channel breakers.
  startWorker(notifyQueue, notifyProcessor({ database, log: logger, queues })),
];

const health = buildWorkerServer({
  probes: { database, redis: producerRedis, lifecycle },
  workersRunning: () => workers.every((worker) => worker.isRunning()),
  metricsToken: env.METRICS_TOKEN,
  logger,
});
addMetricSources({
  breakers: () => brokers.breakerStates(),
  queues: queueStatsReader(queues),
  pools: () => database.poolStatsByName(),
});
// This process's breakers (those of the connections it sends orders to), pools and queues, for health.details.
const instance = new InstancePublisher({
  redis: producerRedis,
  role: 'worker',
  log: logger,
  sources: {
    brokers,
    pools: () => database.poolStatsByName(),
    queues: () => activeJobs.snapshot(),
    draining: () => lifecycle.draining,
  },
});
instance.start();

handleShutdownSignals(
  lifecycle,
  () =>
    runShutdown(
      [
        // health.details shows this worker draining while its active jobs finish.
        { name: 'workers', run: () => Promise.all([instance.publish(), ...workers.map((worker) => worker.close())]) },
        { name: 'instance', run: () => instance.stop() },
        { name: 'brokers', run: async () => brokers.close() },
        { name: 'queues', run: () => closeQueues(queues) },
        { name: 'health', run: () => health.close() },
        { name: 'redis', run: () => Promise.all([workerRedis.quit(), producerRedis.quit()]) },
        { name: 'database', run: () => database.close() },
        { name: 'sentry', run: () => flushSentry() },
      ],
      env.SHUTDOWN_TIMEOUT_MS,
      logger,
    ),
  logger,
);

await health.listen({ port: env.WORKER_PORT, host: env.HOST });
logger.info({ port: env.WORKER_PORT, queues: workers.map((worker) => worker.name) }, 'worker running');
// After the health port is up: registration waits for Redis, and the probes must answer meanwhile.
if (await registerSchedulers(queues, { log: logger, stopping: () => lifecycle.draining })) {
  logger.info('job schedulers registered');
}
