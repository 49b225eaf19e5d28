import type { QueueConfig } from '../queue-factory.ts';

/** Submits one order to its broker. The order row's status and client order id make a re-run look up, not resend. */
export const ordersQueue: QueueConfig<'orders'> = {
  name: 'orders',
  defaultJobOptions: {
    // Spans about a minute of retries (2+4+8+16+32 s): longer than a typical breaker-open window (SPEC R4).
    attempts: 6,
    // Exponential so a broker outage is not hammered while its circuit breaker is open.
    backoff: { type: 'exponential', delay: 2_000 },
    // The broker_orders row is the record; a day of jobs is enough to trace a submission.
    removeOnComplete: { age: 24 * 3_600, count: 10_000 },
    // Exhausted submissions become dead letters; keep the jobs two weeks for investigation.
    removeOnFail: { age: 14 * 24 * 3_600, count: 10_000 },
  },
  worker: {
    // The processor is idempotent, so a job cut off by a crashed worker runs again rather than failing after one
    // stall (BullMQ's default); the outbox sweep revives the rare one that still fails this way.
    maxStalledCount: 3,
    // Network-bound and paced per broker connection by server/brokers/resilience, so moderate parallelism is safe.
    concurrency: 16,
    // Longer than a slow broker call plus the order lookup before a resend, so a live submit is never re-run.
    lockDuration: 60_000,
  },
};
