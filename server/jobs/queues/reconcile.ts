import type { QueueConfig } from '../queue-factory.ts';

/** Compares a connection's broker positions and orders with the local ones (SPEC §7). */
export const reconcileQueue: QueueConfig<'reconcile'> = {
  name: 'reconcile',
  defaultJobOptions: {
    // The next scheduled run (RECONCILE_INTERVAL_S) also catches up, so a couple of retries suffice.
    attempts: 3,
    // Spaced out: a failing run usually means the broker is down, which a quick retry will not fix.
    backoff: { type: 'exponential', delay: 10_000 },
    // reconciliation_runs holds the results; Redis keeps only a day of jobs.
    removeOnComplete: { age: 24 * 3_600, count: 1_000 },
    // A week of failures to see which connections keep failing.
    removeOnFail: { age: 7 * 24 * 3_600, count: 1_000 },
  },
  worker: {
    // Each run makes several broker calls and reads many rows; a few at a time keep the pool free for signals.
    concurrency: 4,
    // BullMQ renews the lock every ~15 s while a run works, however long its broker calls take, so the lock only has to
    // outlast a blocked event loop. Kept short because a killed worker's on-demand run (`reconcile-now-<id>`, which
    // later requests join) is retried only once its lock lapses: the trader's "run now" is back within about a minute.
    lockDuration: 30_000,
  },
};
