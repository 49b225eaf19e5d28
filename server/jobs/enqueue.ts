/**
 * Producers. Every payload is validated against the schema its consumer will use (shared/jobs.ts) before it reaches
 * Redis, so a bad payload fails at the producer, where the bug is, rather than as a failed job later. Queues are
 * built on the producer connection, which fails fast when Redis is down: the add rejects and the caller decides
 * (the webhook route leaves the log `received` for the outbox sweep).
 */
import type { Job, JobsOptions, Queue } from 'bullmq';
import {
  approvedSignalJobId,
  type JobName,
  type JobPayload,
  jobPayloadSchema,
  orderJobId,
  orderPollJobId,
  type QueueName,
  signalJobId,
} from '#shared/jobs.ts';
import { ServiceUnavailable } from '../services/errors.ts';
import type { NamedQueue, Queues } from './queue-factory.ts';

/** Options a producer may set; attempts, backoff and removal stay the queue's (server/jobs/queues/). */
export type EnqueueOptions = Pick<JobsOptions, 'jobId' | 'delay' | 'priority' | 'deduplication'>;

function validPayload(queue: QueueName, name: string, payload: unknown): unknown {
  const schema = jobPayloadSchema(queue, name);
  if (!schema) throw new Error(`unknown ${queue} job ${name}`);
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    const paths = parsed.error.issues.map((issue) => issue.path.map(String).join('.'));
    throw new Error(`invalid ${name} payload: ${paths.join(', ')}`);
  }
  return parsed.data;
}

// How long an add waits for a connection that has never been ready (process started while Redis was down).
const FIRST_CONNECT_WAIT_MS = 1_000;

/**
 * Resolves once the queue's connection has been ready, waiting at most FIRST_CONNECT_WAIT_MS. Needed on top of
 * `enableOfflineQueue: false` (which fails a command at once while Redis is down): a BullMQ Queue sends nothing
 * before its connection's first `ready` event, so without this an add would hang for as long as Redis stays down.
 */
async function connected(queue: Queue): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ServiceUnavailable(`job queue ${queue.name} is unavailable: Redis is not connected`)),
      FIRST_CONNECT_WAIT_MS,
    );
  });
  try {
    await Promise.race([queue.waitUntilReady(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Adds one job after validating its payload. With a `jobId` already in the queue, BullMQ keeps the existing job. */
export async function enqueue<Q extends QueueName, N extends JobName<Q>>(
  queue: NamedQueue<Q>,
  name: N,
  payload: JobPayload<Q, N>,
  options: EnqueueOptions = {},
): Promise<Job> {
  const data = validPayload(queue.name, name, payload);
  await connected(queue);
  return queue.add(name, data, options);
}

/** Many jobs of one name in one round trip (addBulk), each payload validated as `enqueue` does. */
async function addMany<Q extends QueueName, N extends JobName<Q>>(
  queue: NamedQueue<Q>,
  name: N,
  entries: Array<{ payload: JobPayload<Q, N>; jobId: string }>,
): Promise<void> {
  if (entries.length === 0) return;
  await connected(queue);
  await queue.addBulk(
    entries.map((entry) => ({
      name,
      data: validPayload(queue.name, name, entry.payload),
      opts: { jobId: entry.jobId },
    })),
  );
}

/**
 * Enqueues the signal job of an accepted webhook log. The job id comes from the log id, so the route and the outbox
 * sweep may both enqueue the same log: while that job is still in Redis, the second add is ignored (after its
 * removal the processor's status check makes a re-run harmless).
 */
export function enqueueSignal(queues: Pick<Queues, 'signals'>, webhookLogId: number): Promise<Job> {
  return enqueue(queues.signals, 'execute-signal', { webhookLogId }, { jobId: signalJobId(webhookLogId) });
}

/** enqueueSignal for many logs in one round trip (one Lua script per job, one network exchange). */
export function enqueueSignals(queues: Pick<Queues, 'signals'>, webhookLogIds: number[]): Promise<void> {
  return addMany(
    queues.signals,
    'execute-signal',
    webhookLogIds.map((webhookLogId) => ({ payload: { webhookLogId }, jobId: signalJobId(webhookLogId) })),
  );
}

/**
 * Enqueues the signal job of a log whose staged signal was just approved, under approvedSignalJobId: the log's first
 * job (`log-<id>`, which staged it) may still be stored, and an add under its id would be ignored.
 */
export function enqueueApprovedSignal(queues: Pick<Queues, 'signals'>, webhookLogId: number): Promise<Job> {
  return enqueue(queues.signals, 'execute-signal', { webhookLogId }, { jobId: approvedSignalJobId(webhookLogId) });
}

/** enqueueApprovedSignal for many logs in one round trip (the expire-staged job's re-adds). */
export function enqueueApprovedSignals(queues: Pick<Queues, 'signals'>, webhookLogIds: number[]): Promise<void> {
  return addMany(
    queues.signals,
    'execute-signal',
    webhookLogIds.map((webhookLogId) => ({ payload: { webhookLogId }, jobId: approvedSignalJobId(webhookLogId) })),
  );
}

/**
 * enqueueSignal for the api's hot path: adds arriving in the same turn of the event loop go to Redis together, as
 * one addBulk (one network exchange) instead of one round trip each. Each caller's promise settles with its batch.
 */
export function createSignalEnqueuer(queues: Pick<Queues, 'signals'>): (webhookLogId: number) => Promise<void> {
  let waiting: Array<{ id: number; resolve(): void; reject(error: unknown): void }> = [];
  const flush = () => {
    const batch = waiting;
    waiting = [];
    enqueueSignals(
      queues,
      batch.map((entry) => entry.id),
    ).then(
      () => {
        for (const entry of batch) entry.resolve();
      },
      (error: unknown) => {
        for (const entry of batch) entry.reject(error);
      },
    );
  };
  return (webhookLogId) =>
    new Promise<void>((resolve, reject) => {
      if (waiting.length === 0) setImmediate(flush);
      waiting.push({ id: webhookLogId, resolve, reject });
    });
}

/** Submit jobs for orders ready to go (job id per order: enqueueing one twice adds nothing). */
export function enqueueSubmits(queues: Pick<Queues, 'orders'>, orderIds: number[]): Promise<void> {
  return addMany(
    queues.orders,
    'submit-order',
    orderIds.map((orderId) => ({ payload: { orderId }, jobId: orderJobId(orderId) })),
  );
}

/**
 * The submit job of an order whose inline submission by its signal job failed for a reason worth retrying: it runs
 * after the orders queue's first backoff and has one attempt fewer, so the order gets the queue's attempts in all.
 */
export async function enqueueSubmitRetry(queues: Pick<Queues, 'orders'>, orderId: number): Promise<void> {
  // The queue's own options (tests shorten its backoff).
  const { attempts = 1, backoff } = queues.orders.defaultJobOptions;
  const delay = typeof backoff === 'number' ? backoff : (backoff?.delay ?? 0);
  const payload = validPayload(queues.orders.name, 'submit-order', { orderId });
  await connected(queues.orders);
  await queues.orders.add('submit-order', payload as { orderId: number }, {
    jobId: orderJobId(orderId),
    delay,
    attempts: Math.max(1, attempts - 1),
  });
}

/** The next status poll of an order, `delayMs` from now. */
export async function enqueuePoll(
  queues: Pick<Queues, 'order-status'>,
  orderId: number,
  poll: number,
  delayMs: number,
): Promise<void> {
  await enqueue(
    queues['order-status'],
    'poll-order-status',
    { orderId, poll },
    {
      jobId: orderPollJobId(orderId, poll),
      ...(delayMs > 0 ? { delay: delayMs } : {}),
    },
  );
}

/**
 * For the outbox sweeps: makes sure each job exists and will run. A job that is missing is added; one that failed
 * for good — its attempts spent, or stalled past maxStalledCount by worker crashes — is retried, because a plain add
 * under its id would be ignored while the failed job is kept, and the row it serves would wait forever. The rows
 * the sweeps pick are still unprocessed (`received` logs, `pending`/`submitting` orders), so running them again is
 * what they need, and the processors are idempotent.
 */
async function revive<Q extends 'signals' | 'orders'>(
  queue: Queues[Q],
  entries: Array<{ name: string; data: unknown; jobId: string }>,
): Promise<void> {
  if (entries.length === 0) return;
  await connected(queue);
  const jobs = await Promise.all(entries.map((entry) => queue.getJob(entry.jobId)));
  const missing = entries.filter((_, index) => !jobs[index]);
  if (missing.length > 0) {
    await queue.addBulk(missing.map((entry) => ({ name: entry.name, data: entry.data, opts: { jobId: entry.jobId } })));
  }
  for (const job of jobs) {
    if (job && (await job.isFailed())) await job.retry('failed');
  }
}

/** The outbox sweep's enqueue of logs still `received`: adds or revives their signal jobs. */
export function reviveSignals(queues: Pick<Queues, 'signals'>, webhookLogIds: number[]): Promise<void> {
  return revive(
    queues.signals,
    webhookLogIds.map((webhookLogId) => ({
      name: 'execute-signal',
      data: validPayload('signals', 'execute-signal', { webhookLogId }),
      jobId: signalJobId(webhookLogId),
    })),
  );
}

/** The order outbox sweep's enqueue of orders left `pending` or `submitting`: adds or revives their submit jobs. */
export function reviveSubmits(queues: Pick<Queues, 'orders'>, orderIds: number[]): Promise<void> {
  return revive(
    queues.orders,
    orderIds.map((orderId) => ({
      name: 'submit-order',
      data: validPayload('orders', 'submit-order', { orderId }),
      jobId: orderJobId(orderId),
    })),
  );
}
