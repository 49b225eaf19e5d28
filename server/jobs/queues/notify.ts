import type { QueueConfig } from '../queue-factory.ts';

/**
 * Delivers one notification to one channel (Discord, Slack, Telegram, webhook), and runs the dispatch sweep every 2 s
 * that adds those deliveries for committed notifications (its scheduler sets attempts 1).
 */
export const notifyQueue: QueueConfig<'notify'> = {
  name: 'notify',
  defaultJobOptions: {
    // Third-party endpoints have outages of minutes; 8 attempts span about 10 minutes (5 s doubling).
    attempts: 8,
    // Exponential so a failing channel is not hammered and its rate limits are respected.
    backoff: { type: 'exponential', delay: 5_000 },
    // The notifications row records delivery; a day of jobs is enough.
    removeOnComplete: { age: 24 * 3_600, count: 5_000 },
    // A week of failures to show why a channel is failing.
    removeOnFail: { age: 7 * 24 * 3_600, count: 5_000 },
  },
  worker: {
    // Outbound HTTP only; a handful in parallel keeps one slow channel from delaying the rest.
    concurrency: 8,
    // One HTTP call with a client timeout well under this.
    lockDuration: 30_000,
  },
};
