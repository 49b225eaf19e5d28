import type { QueueConfig } from '../queue-factory.ts';

/**
 * Scheduled housekeeping (server/jobs/schedulers.ts): the session purge, the outbox sweep of logs and orders, and the
 * staged-signal expiry (which also re-adds lost approvals).
 */
export const maintenanceQueue: QueueConfig<'maintenance'> = {
  name: 'maintenance',
  defaultJobOptions: {
    // Housekeeping is idempotent and not urgent: a few spaced retries are enough.
    attempts: 3,
    // Spaced out: the next scheduled run is never far away.
    backoff: { type: 'exponential', delay: 30_000 },
    // Keep a short history for inspection without letting Redis grow (PITFALLS §1 auto-removal).
    removeOnComplete: { age: 24 * 3600, count: 100 },
    // A week of failures, bounded: a sweep every 10 s that keeps failing must not fill Redis.
    removeOnFail: { age: 7 * 24 * 3600, count: 1_000 },
  },
  worker: {
    // One at a time: these jobs scan tables and must not compete with the hot path for the pool.
    concurrency: 1,
    // Longer than the slowest batch delete, so a busy job is not mistaken for a stalled one.
    lockDuration: 120_000,
  },
};
