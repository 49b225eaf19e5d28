import type { QueueConfig } from '../queue-factory.ts';

/** Records a job that exhausted its attempts as a dead_letters row (with audit and a notification). */
export const deadLettersQueue: QueueConfig<'dead-letters'> = {
  name: 'dead-letters',
  defaultJobOptions: {
    // Losing the record of a failure is worse than retrying a cheap insert many times.
    attempts: 10,
    // Exponential from 1 s: about 8 minutes of retries, enough to outlast a database restart.
    backoff: { type: 'exponential', delay: 1_000 },
    // The dead_letters row is the record.
    removeOnComplete: { age: 24 * 3_600, count: 1_000 },
    // If recording itself failed, this job is the only trace left: keep it for the DLQ retention period.
    removeOnFail: { age: 30 * 24 * 3_600, count: 10_000 },
  },
  worker: {
    // Rare and cheap.
    concurrency: 2,
    // One insert, one audit row and one notification.
    lockDuration: 30_000,
  },
};
