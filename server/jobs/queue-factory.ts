/**
 * Queues and workers built from a per-queue config (server/jobs/queues/<name>.ts). Every Queue and Worker gets an
 * `error` listener; prefixes carry a hash tag per queue for Redis Cluster.
 */
import {
  type BackoffOptions,
  type Job,
  type JobsOptions,
  type KeepJobs,
  type Processor,
  Queue,
  UnrecoverableError,
  Worker,
  type WorkerOptions,
} from 'bullmq';
import type { QueueName } from '#shared/jobs.ts';
import { env } from '../lib/env.ts';
import type { Logger } from '../lib/logger.ts';
import type { RedisClient } from '../lib/redis-client.ts';

/**
 * A queue's options. Retries, backoff, both removal bounds (PITFALLS §1: jobs are kept forever by default),
 * concurrency and lock duration are required, so no queue can silently fall back to BullMQ's defaults.
 */
export interface QueueConfig<Q extends QueueName = QueueName> {
  name: Q;
  defaultJobOptions: JobsOptions & {
    attempts: number;
    backoff: BackoffOptions;
    removeOnComplete: Required<KeepJobs>;
    removeOnFail: Required<KeepJobs>;
  };
  worker: Pick<WorkerOptions, 'maxStalledCount' | 'stalledInterval'> &
    Required<Pick<WorkerOptions, 'concurrency' | 'lockDuration'>>;
}

/** A BullMQ Queue whose type remembers its name, so `enqueue` can check a job's name and payload against it. */
export type NamedQueue<Q extends QueueName> = Queue & { readonly name: Q };
export type Queues = { [Q in QueueName]: NamedQueue<Q> };

export function queuePrefix(name: QueueName): string {
  return `${env.REDIS_PREFIX}:{${name}}`;
}

export function createQueue<Q extends QueueName>(
  config: QueueConfig<Q>,
  connection: RedisClient,
  log: Logger,
): NamedQueue<Q> {
  const queue = new Queue(config.name, {
    connection,
    prefix: queuePrefix(config.name),
    defaultJobOptions: config.defaultJobOptions,
  });
  queue.on('error', (err) => log.error({ err, queue: config.name }, 'queue error'));
  return queue as NamedQueue<Q>;
}

/** One Queue per config, all on `connection` (a Queue reuses the connection it is given; none of them block). */
export function createQueues(
  configs: { [Q in QueueName]: QueueConfig<Q> },
  connection: RedisClient,
  log: Logger,
): Queues {
  const queue = <Q extends QueueName>(name: Q) => createQueue(configs[name], connection, log);
  return {
    signals: queue('signals'),
    orders: queue('orders'),
    'order-status': queue('order-status'),
    reconcile: queue('reconcile'),
    sessions: queue('sessions'),
    notify: queue('notify'),
    'dead-letters': queue('dead-letters'),
    maintenance: queue('maintenance'),
  };
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((queue) => queue.close()));
}

/**
 * Whether a failed attempt was the job's last: its attempts are used up, or it threw an UnrecoverableError (a
 * FinalJobError among them), which BullMQ fails at once. `finishedOn` covers the other ways BullMQ stops retrying.
 */
export function failedForGood(job: Job, err: Error): boolean {
  return (
    job.finishedOn !== undefined ||
    err instanceof UnrecoverableError ||
    err.name === 'UnrecoverableError' ||
    job.attemptsMade >= (job.opts.attempts ?? 1)
  );
}

export function createWorker(
  config: QueueConfig,
  processor: Processor,
  connection: RedisClient,
  log: Logger,
  options: { onGivenUp?: (job: Job) => Promise<void> } = {},
): Worker {
  const worker = new Worker(config.name, processor, {
    connection,
    prefix: queuePrefix(config.name),
    ...config.worker,
  });
  worker.on('error', (err) => log.error({ err, queue: config.name }, 'worker error'));
  // The processor runner logs each attempt's cause; this marks the moment a job is given up on (no retry left, or
  // an UnrecoverableError), where dead-lettering hooks in (`onGivenUp`). A job failed for stalling too often is
  // failed inside Redis and only shows up as a QueueEvents `failed` event, not here.
  worker.on('failed', (job, err) => {
    if (job && !failedForGood(job, err)) return; // retrying
    log.error(
      { queue: config.name, job: job?.name, jobId: job?.id, attemptsMade: job?.attemptsMade, reason: err.message },
      'job failed for good',
    );
    if (job && options.onGivenUp) {
      options
        .onGivenUp(job)
        .catch((error: unknown) => log.error({ err: error, queue: config.name }, 'onGivenUp failed'));
    }
  });
  return worker;
}
