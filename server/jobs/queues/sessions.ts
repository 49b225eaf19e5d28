import type { QueueConfig } from '../queue-factory.ts';

/** Broker-session upkeep: token renewals and keep-alives per connection. */
export const sessionsQueue: QueueConfig<'sessions'> = {
  name: 'sessions',
  defaultJobOptions: {
    // A renewal must land before the token expires, so retry a few times rather than wait for the next schedule.
    attempts: 4,
    // Short exponential backoff: under a minute of retries (5+10+20 s), well inside a session lifetime.
    backoff: { type: 'exponential', delay: 5_000 },
    // Frequent, low-value history.
    removeOnComplete: { age: 3_600, count: 1_000 },
    // Three days of failures to diagnose a connection whose sessions keep expiring.
    removeOnFail: { age: 3 * 24 * 3_600, count: 1_000 },
  },
  worker: {
    // One call per connection; sessions are few.
    concurrency: 4,
    // A login round trip (with a possible penalty wait) stays well under a minute.
    lockDuration: 60_000,
  },
};
