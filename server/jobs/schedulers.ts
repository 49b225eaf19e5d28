/**
 * Every job scheduler, upserted by the worker at start-up. upsertJobScheduler is idempotent per scheduler id, so
 * every worker process registers all of them and N workers still produce one job per interval.
 */
import type { JobsOptions } from 'bullmq';
import type { JobName, JobPayload } from '#shared/jobs.ts';
import type { Logger } from '../lib/logger.ts';
import type { Queues } from './queue-factory.ts';

interface Schedule<N extends JobName<'maintenance'> = JobName<'maintenance'>> {
  /** The scheduler id, also the job name. */
  name: N;
  everyMs: number;
  data: JobPayload<'maintenance', N>;
  /** Overrides of the queue's job options for this scheduler's jobs. */
  opts?: JobsOptions;
}

export const SCHEDULES: Schedule[] = [
  // Stale refresh sessions only cost space; hourly keeps the table small.
  { name: 'purge-expired-sessions', everyMs: 3_600_000, data: {} },
  // Logs left `received` are enqueued within 30 s + 10 s; a failed sweep is not retried, the next one is 10 s away.
  { name: 'outbox-sweep', everyMs: 10_000, data: {}, opts: { attempts: 1 } },
  // Staged signals expire within 30 s of their expires_at, and an approval whose signal job was lost is re-added
  // within 30 s + 10 s; a failed run is not retried, the next one is 30 s away.
  { name: 'expire-staged', everyMs: 30_000, data: {}, opts: { attempts: 1 } },
];

/** Upserts every scheduler once; rejects when Redis does not answer. */
export async function upsertSchedulers(queues: Pick<Queues, 'maintenance'>): Promise<void> {
  for (const schedule of SCHEDULES) {
    await queues.maintenance.upsertJobScheduler(
      schedule.name,
      { every: schedule.everyMs },
      { name: schedule.name, data: schedule.data, opts: schedule.opts },
    );
  }
}

/**
 * Redis may still be coming up when the worker starts, so registration retries (1 s more per attempt, at most
 * 10 s apart) until it succeeds or `stopping()` turns true. Resolves true once registered.
 */
export async function registerSchedulers(
  queues: Pick<Queues, 'maintenance'>,
  options: { log: Logger; stopping: () => boolean },
): Promise<boolean> {
  for (let attempt = 1; !options.stopping(); attempt++) {
    try {
      await upsertSchedulers(queues);
      return true;
    } catch (err) {
      options.log.warn({ err, attempt }, 'could not register job schedulers yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, Math.min(attempt * 1_000, 10_000)));
    }
  }
  return false;
}
