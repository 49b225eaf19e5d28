import type { QueueConfig } from '../queue-factory.ts';

export const maintenanceQueue: QueueConfig = {
  name: 'maintenance',
  defaultJobOptions: {
    // Housekeeping is idempotent and not urgent: a few spaced retries are enough.
    attempts: 3,
    backoff: { type: 'exponential', delay: 30_000 },
    // Keep a short history for inspection without letting Redis grow (PITFALLS §1 auto-removal).
    removeOnComplete: { age: 24 * 3600, count: 100 },
    removeOnFail: { age: 7 * 24 * 3600, count: 1_000 },
  },
  worker: {
    // One at a time: these jobs scan tables and must not compete with the hot path for the pool.
    concurrency: 1,
    // Longer than the slowest batch delete, so a busy job is not mistaken for a stalled one.
    lockDuration: 120_000,
  },
};
