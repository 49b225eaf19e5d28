/**
 * The processor runner through a real BullMQ queue and worker: which failures are retried per the queue's attempts
 * and which fail at once, what reaches Redis, producer-side validation, and a worker shutdown raced against the
 * deadline. Uses the `orders` queue (it has no processor yet) with test handlers and a millisecond backoff.
 */
import { type Job, UnrecoverableError, type Worker } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRedis } from '../../server/jobs/connection.ts';
import { enqueue } from '../../server/jobs/enqueue.ts';
import { createQueue, createWorker, type NamedQueue, type QueueConfig } from '../../server/jobs/queue-factory.ts';
import { notifyQueue } from '../../server/jobs/queues/notify.ts';
import { ordersQueue } from '../../server/jobs/queues/orders.ts';
import { defineProcessor, FinalJobError, type JobContext } from '../../server/jobs/run-processor.ts';
import { env } from '../../server/lib/env.ts';
import { runShutdown } from '../../server/lib/lifecycle.ts';
import { logger } from '../../server/lib/logger.ts';
import type { RedisClient } from '../../server/lib/redis-client.ts';
import { BrokerRejected, BrokerUnavailable, NotFound, Precondition } from '../../server/services/errors.ts';
import { waitFor } from '../helpers/app.ts';
import { useTestDatabase } from '../helpers/db.ts';

const database = useTestDatabase();
const config: QueueConfig<'orders'> = {
  ...ordersQueue,
  defaultJobOptions: { ...ordersQueue.defaultJobOptions, attempts: 3, backoff: { type: 'fixed', delay: 5 } },
};

/** What the handler does for an order id; every call is recorded with the context it received. */
let behaviour: (ctx: JobContext, orderId: number) => Promise<unknown>;
const calls: { orderId: number; attempt: number; actor: unknown; requestId: string }[] = [];
const failures: Error[] = [];

let producer: RedisClient;
let consumer: RedisClient;
let queue: NamedQueue<'orders'>;
let worker: Worker;
beforeAll(() => {
  producer = createRedis(env.REDIS_URL, 'producer', logger);
  consumer = createRedis(env.REDIS_URL, 'worker', logger);
  queue = createQueue(config, producer, logger);
  const processor = defineProcessor(
    config,
    { db: database.db, log: logger },
    {
      'submit-order': async (ctx, { orderId }) => {
        calls.push({ orderId, attempt: ctx.job.attempt, actor: ctx.actor, requestId: ctx.requestId });
        return behaviour(ctx, orderId);
      },
    },
  );
  worker = createWorker(config, processor, consumer, logger);
  worker.on('failed', (_job, err) => failures.push(err));
});
afterAll(async () => {
  await worker.close();
  await queue.close();
  await Promise.all([producer.quit(), consumer.quit()]);
});
beforeEach(() => {
  calls.length = 0;
  failures.length = 0;
});

/** Waits until the job has completed or failed for good, and returns what BullMQ recorded. */
async function settled(job: Job) {
  const id = String(job.id);
  let state = '';
  await waitFor(async () => {
    state = String(await queue.getJobState(id));
    return state === 'completed' || state === 'failed';
  });
  const stored = await queue.getJob(id);
  return {
    state,
    attemptsMade: stored?.attemptsMade,
    reason: stored?.failedReason,
    returnvalue: stored?.returnvalue,
    stacktrace: stored?.stacktrace ?? [],
  };
}

const submit = (orderId: number) => enqueue(queue, 'submit-order', { orderId });

describe('defineProcessor', () => {
  it('runs the handler with a system context and stores its result', async () => {
    behaviour = async (_ctx, orderId) => ({ submitted: orderId });
    const job = await submit(11);
    // BullMQ counts the successful attempt too.
    expect(await settled(job)).toMatchObject({ state: 'completed', attemptsMade: 1, returnvalue: { submitted: 11 } });
    expect(calls).toEqual([
      { orderId: 11, attempt: 1, actor: { type: 'system', job: 'submit-order' }, requestId: `job:orders/${job.id}` },
    ]);
  });

  it.each([
    ['NotFound', () => new NotFound('order'), 'not-found', 'order not found'],
    ['Precondition', () => new Precondition('order is not pending'), 'precondition-failed', 'order is not pending'],
    [
      'BrokerRejected',
      () => new BrokerRejected('insufficient buying power'),
      'broker-rejected',
      'insufficient buying power',
    ],
  ])('fails at once, without retries, on %s, carrying its code', async (_name, error, code, reason) => {
    behaviour = async () => {
      throw error();
    };
    expect(await settled(await submit(12))).toMatchObject({ state: 'failed', attemptsMade: 1, reason });
    expect(calls).toHaveLength(1);
    expect(failures).toHaveLength(1);
    // BullMQ skips the remaining attempts for any UnrecoverableError; FinalJobError is one, with the code.
    expect(failures[0]).toBeInstanceOf(UnrecoverableError);
    expect(failures[0]).toBeInstanceOf(FinalJobError);
    expect(failures[0]).toMatchObject({ code });
  });

  it('retries BrokerUnavailable up to the queue config’s attempts, then fails', async () => {
    behaviour = async () => {
      throw new BrokerUnavailable('broker answered 503');
    };
    expect(await settled(await submit(13))).toMatchObject({
      state: 'failed',
      attemptsMade: config.defaultJobOptions.attempts,
      reason: 'broker answered 503',
    });
    expect(calls.map((call) => call.attempt)).toEqual([1, 2, 3]);
  });

  it('completes on a later attempt once the broker is back', async () => {
    behaviour = async (ctx) => {
      if (ctx.job.attempt < 2) throw new BrokerUnavailable('timeout');
      return { ok: true };
    };
    expect(await settled(await submit(14))).toMatchObject({ state: 'completed', returnvalue: { ok: true } });
    expect(calls.map((call) => call.attempt)).toEqual([1, 2]);
  });

  it('retries an unexpected error, leaving only a scrubbed message in Redis', async () => {
    behaviour = async () => {
      // The shape of a mysql2/drizzle error: the statement and its bound values ride along.
      throw Object.assign(new Error('Failed query: update orders set token = ? params: s3cr3t-value'), {
        sql: 'update orders set token = ?',
        params: ['s3cr3t-value'],
      });
    };
    const result = await settled(await submit(15));
    expect(result).toMatchObject({ state: 'failed', attemptsMade: 3, reason: 'database query failed' });
    expect(JSON.stringify(result.stacktrace)).not.toContain('s3cr3t-value');
    expect(calls).toHaveLength(3);
  });

  it('fails an invalid payload at once as UnrecoverableError, without calling the handler', async () => {
    behaviour = async () => ({});
    // Bypasses enqueue's validation, as a stale producer or a hand-edited job would.
    const job = await queue.add('submit-order', { orderId: 'DROP TABLE', token: 'x' });
    expect(await settled(job)).toMatchObject({
      state: 'failed',
      attemptsMade: 1,
      reason: 'invalid submit-order payload',
    });
    expect(failures[0]).toMatchObject({ code: 'validation-failed' });
    expect(calls).toEqual([]);
  });

  it('fails an unknown job name at once', async () => {
    const job = await queue.add('cancel-everything', {});
    expect(await settled(job)).toMatchObject({
      state: 'failed',
      attemptsMade: 1,
      reason: 'unknown orders job cancel-everything',
    });
    expect(calls).toEqual([]);
  });
});

describe('enqueue', () => {
  it('refuses an invalid payload or job name before anything reaches Redis', async () => {
    const before = await queue.count();
    // The type allows any number; the shared schema wants a positive id.
    await expect(enqueue(queue, 'submit-order', { orderId: -1 })).rejects.toThrow('invalid submit-order payload');
    // @ts-expect-error an unknown job name
    await expect(enqueue(queue, 'cancel-everything', {})).rejects.toThrow('unknown orders job cancel-everything');
    expect(await queue.count()).toBe(before);
  });

  it('rejects at once when Redis is unreachable, instead of queueing the add in memory', async () => {
    // Nothing listens on port 1: the producer connection must fail fast rather than hold the caller.
    const offline = createRedis('redis://127.0.0.1:1', 'producer', logger);
    const offlineQueue = createQueue(config, offline, logger);
    const startedAt = Date.now();
    await expect(enqueue(offlineQueue, 'submit-order', { orderId: 1 })).rejects.toThrow();
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    offline.disconnect();
  });
});

describe('worker shutdown', () => {
  // Its own queue (no notify worker runs in this file), so the shared orders worker cannot take these jobs.
  const notify: QueueConfig<'notify'> = notifyQueue;
  let notifyJobs: NamedQueue<'notify'>;
  let connection: RedisClient;
  beforeAll(() => {
    notifyJobs = createQueue(notify, producer, logger);
    connection = createRedis(env.REDIS_URL, 'worker', logger);
  });
  afterAll(async () => {
    await notifyJobs.close();
    connection.disconnect();
  });

  /** A worker whose every job waits for `finish` (never, by default). */
  function slowWorker() {
    let finish: () => void = () => {};
    const processor = defineProcessor(
      notify,
      { db: database.db, log: logger },
      {
        'deliver-notification': () => new Promise((resolve) => (finish = () => resolve({ delivered: true }))),
        'dispatch-notifications': async () => ({}),
      },
    );
    return { worker: createWorker(notify, processor, connection, logger), finish: () => finish() };
  }

  async function startJob(notificationId: number) {
    const job = await enqueue(notifyJobs, 'deliver-notification', { notificationId, channelId: 1 });
    await waitFor(async () => (await notifyJobs.getJobState(String(job.id))) === 'active');
    return String(job.id);
  }

  it('lets an active job finish before the worker closes', async () => {
    const { worker: draining, finish } = slowWorker();
    const id = await startJob(1);
    const closing = runShutdown([{ name: 'workers', run: () => draining.close() }], 5_000, logger);
    setTimeout(finish, 200);
    expect(await closing).toBe(true);
    expect(await notifyJobs.getJobState(id)).toBe('completed');
  });

  it('gives up at the deadline on a job that overruns it, instead of hanging', async () => {
    const { worker: stuck, finish } = slowWorker();
    const id = await startJob(2);
    const closing = stuck.close();
    const startedAt = Date.now();
    expect(await runShutdown([{ name: 'workers', run: () => closing }], 300, logger)).toBe(false);
    expect(Date.now() - startedAt).toBeLessThan(2_000);
    // Still active: after a real exit its lock lapses and another worker picks it up as stalled.
    expect(await notifyJobs.getJobState(id)).toBe('active');
    finish(); // the close started above only resolves once the job is done
    await closing;
  });
});
