import type { QueueConfig } from '../queue-factory.ts';

/**
 * One job per accepted webhook log: claim the log, turn the signal into orders, send them and take the broker's
 * first word on them (a market order usually ends filled within the job).
 */
export const signalsQueue: QueueConfig<'signals'> = {
  name: 'signals',
  defaultJobOptions: {
    // A few quick retries ride out a database blip; the outbox sweep re-enqueues a log still `received` anyway.
    attempts: 5,
    // Signals are time-sensitive: start at 1 s so a recovered database catches up within seconds, not minutes.
    backoff: { type: 'exponential', delay: 1_000 },
    // Bounded by count at webhook rates; the webhook log row, not Redis, is the lasting record.
    removeOnComplete: { age: 3_600, count: 10_000 },
    // Failed jobs stay a week for dead-letter recording and inspection.
    removeOnFail: { age: 7 * 24 * 3_600, count: 10_000 },
  },
  worker: {
    // The processor is idempotent, so a job cut off by a crashed worker runs again rather than failing after one
    // stall (BullMQ's default); the outbox sweep revives the rare one that still fails this way.
    maxStalledCount: 3,
    // Each job holds one pooled MySQL connection at a time, and only while it talks to MySQL: part of its time goes
    // to the broker, so more jobs than DB_POOL_SIZE (default 10) share the pool without waiting long.
    concurrency: 16,
    // Two or three broker calls (10 s timeout each, pacing waits included) after the database work: a live job is
    // never taken for stalled.
    lockDuration: 60_000,
  },
};
