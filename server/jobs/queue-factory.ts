/**
 * Queues and workers built from a per-queue config (server/jobs/queues/<name>.ts). Every Queue and Worker gets an
 * `error` listener; prefixes carry a hash tag per queue for Redis Cluster.
 */
import { type JobsOptions, type Processor, Queue, Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { QueueName } from '#shared/jobs.ts';
import { env } from '../lib/env.ts';
import type { Logger } from '../lib/logger.ts';

export interface QueueConfig {
  name: QueueName;
  defaultJobOptions: JobsOptions;
  worker: Pick<WorkerOptions, 'concurrency' | 'lockDuration' | 'maxStalledCount' | 'stalledInterval'>;
}

export function queuePrefix(name: QueueName): string {
  return `${env.REDIS_PREFIX}:{${name}}`;
}

export function createQueue(config: QueueConfig, connection: Redis, log: Logger): Queue {
  const queue = new Queue(config.name, {
    connection,
    prefix: queuePrefix(config.name),
    defaultJobOptions: config.defaultJobOptions,
  });
  queue.on('error', (err) => log.error({ err, queue: config.name }, 'queue error'));
  return queue;
}

export function createWorker(config: QueueConfig, processor: Processor, connection: Redis, log: Logger): Worker {
  const worker = new Worker(config.name, processor, {
    connection,
    prefix: queuePrefix(config.name),
    ...config.worker,
  });
  worker.on('error', (err) => log.error({ err, queue: config.name }, 'worker error'));
  worker.on('failed', (job, err) =>
    log.warn({ err, queue: config.name, jobId: job?.id, attempts: job?.attemptsMade }, 'job failed'),
  );
  return worker;
}
