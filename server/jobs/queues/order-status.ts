import type { QueueConfig } from '../queue-factory.ts';

/** Polls a fresh order's status every few seconds until it is terminal. */
export const orderStatusQueue: QueueConfig<'order-status'> = {
  name: 'order-status',
  defaultJobOptions: {
    // A missed poll is harmless (the next poll or reconciliation catches up), so few retries.
    attempts: 3,
    // Fixed and short: a poll is only useful while the order is fresh.
    backoff: { type: 'fixed', delay: 5_000 },
    // High volume and no lasting value: keep minutes, not days.
    removeOnComplete: { age: 600, count: 1_000 },
    // Failed polls kept a day to spot a broker answering errors.
    removeOnFail: { age: 24 * 3_600, count: 5_000 },
  },
  worker: {
    // The processor is idempotent, so a job cut off by a crashed worker runs again rather than failing after one
    // stall (BullMQ's default); the outbox sweep revives the rare one that still fails this way.
    maxStalledCount: 3,
    // One short broker read per job, paced per connection by the resilience layer.
    concurrency: 16,
    // One read with a client timeout well under this.
    lockDuration: 30_000,
  },
};
