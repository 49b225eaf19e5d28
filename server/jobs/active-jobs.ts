/**
 * Each queue's concurrency in this process and the jobs its worker is running now, for the snapshot health.details
 * shows (BullMQ keeps the count to itself). Counted by wrapping the processor: one increment and one decrement a job.
 */
import type { Processor } from 'bullmq';
import type { QueueName } from '#shared/jobs.ts';
import type { QueueConfig } from './queue-factory.ts';

export interface QueueActivity {
  name: QueueName;
  concurrency: number;
  active: number;
}

export class ActiveJobs {
  readonly #queues = new Map<QueueName, QueueActivity>();

  /** `processor`, counting its jobs under `config`'s queue. */
  track(config: QueueConfig, processor: Processor): Processor {
    const activity = { name: config.name, concurrency: config.worker.concurrency, active: 0 };
    this.#queues.set(config.name, activity);
    const run: Processor = async (job, token, signal) => {
      activity.active++;
      try {
        return await processor(job, token, signal);
      } finally {
        activity.active--;
      }
    };
    // BullMQ gives a job an AbortSignal only when the processor declares a third parameter: keep what it declared.
    return processor.length >= 3 ? run : (job, token) => run(job, token);
  }

  snapshot(): QueueActivity[] {
    return [...this.#queues.values()].map((activity) => ({ ...activity }));
  }
}
