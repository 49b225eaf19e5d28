/**
 * worker process: BullMQ processors and job schedulers, plus /health/live, /health/ready on WORKER_PORT.
 * Shutdown: readiness goes false, workers stop fetching and finish active jobs (raced against the deadline: BullMQ's
 * close has no timeout), then queues, the health server, Redis and MySQL close.
 */
import Fastify, { type FastifyBaseLogger, LogController } from 'fastify';
import { createDatabase } from './db/client.ts';
import { registerHealthRoutes } from './http/health.ts';
import { createRedis } from './jobs/connection.ts';
import { maintenanceProcessor } from './jobs/processors/maintenance.ts';
import { createQueue, createWorker } from './jobs/queue-factory.ts';
import { maintenanceQueue } from './jobs/queues/maintenance.ts';
import { env } from './lib/env.ts';
import { createLifecycle, handleShutdownSignals, runShutdown } from './lib/lifecycle.ts';
import { logger } from './lib/logger.ts';
import { installProcessGuards } from './lib/process-guards.ts';

installProcessGuards(logger);

const lifecycle = createLifecycle();
const database = createDatabase({ url: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE, queueLimit: env.DB_QUEUE_LIMIT });
// Workers block on Redis and must survive blips; producers (schedulers, health) must fail fast.
const workerRedis = createRedis(env.REDIS_URL, 'worker', logger);
const producerRedis = createRedis(env.REDIS_URL, 'producer', logger);

const maintenance = createQueue(maintenanceQueue, producerRedis, logger);
const workers = [createWorker(maintenanceQueue, maintenanceProcessor({ database, log: logger }), workerRedis, logger)];

// Probes arrive every few seconds; logging each would drown the job logs.
const health = Fastify({
  loggerInstance: logger as FastifyBaseLogger,
  logController: new LogController({ disableRequestLogging: true }),
});
registerHealthRoutes(health, { database, redis: producerRedis, lifecycle });

handleShutdownSignals(
  lifecycle,
  () =>
    runShutdown(
      [
        { name: 'workers', run: () => Promise.all(workers.map((worker) => worker.close())) },
        { name: 'queues', run: () => maintenance.close() },
        { name: 'health', run: () => health.close() },
        { name: 'redis', run: () => Promise.all([workerRedis.quit(), producerRedis.quit()]) },
        { name: 'database', run: () => database.close() },
      ],
      env.SHUTDOWN_TIMEOUT_MS,
      logger,
    ),
  logger,
);

/**
 * Schedulers are idempotent per id. Redis may still be coming up when the worker starts, so registration retries
 * until it succeeds or shutdown begins, without holding up the health port.
 */
async function registerSchedulers(): Promise<void> {
  for (let attempt = 1; !lifecycle.draining; attempt++) {
    try {
      await maintenance.upsertJobScheduler(
        'purge-expired-sessions',
        { every: 3_600_000 },
        { name: 'purge-expired-sessions', data: {} },
      );
      return;
    } catch (err) {
      logger.warn({ err, attempt }, 'could not register job schedulers yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, Math.min(attempt * 1_000, 10_000)));
    }
  }
}

await health.listen({ port: env.WORKER_PORT, host: env.HOST });
await registerSchedulers();
logger.info({ port: env.WORKER_PORT, queues: workers.map((worker) => worker.name) }, 'worker running');
