/**
 * Job counts per queue and state, for /metrics, health.details and admin.queues.stats. One `getJobCounts` per queue,
 * all in parallel; an answer is reused for `maxAgeMs` so frequent scrapes from several Prometheus servers cost Redis
 * one read per few seconds, and concurrent callers share one read in flight.
 */
import type { JobType } from 'bullmq';
import { QUEUE_NAMES } from '#shared/jobs.ts';
import { QUEUE_JOB_STATES, type QueueCounts, type QueueStats } from '#shared/schemas/health.ts';
import type { Queues } from './queue-factory.ts';

/** Reads the counts, from a copy up to `maxAgeMs` old (default: DEFAULT_MAX_AGE_MS; 0 reads Redis now). */
export type ReadQueueStats = (maxAgeMs?: number) => Promise<QueueStats>;

export const DEFAULT_MAX_AGE_MS = 5_000;

export function queueStatsReader(queues: Queues): ReadQueueStats {
  let last: QueueStats | undefined;
  let inflight: Promise<QueueStats> | undefined;
  const read = async (): Promise<QueueStats> => {
    const counts = await Promise.all(
      QUEUE_NAMES.map(async (name) => ({
        name,
        // `paused` is a job state BullMQ counts but leaves out of its JobType union.
        counts: (await queues[name].getJobCounts(...(QUEUE_JOB_STATES as unknown as JobType[]))) as QueueCounts,
      })),
    );
    return { queues: counts, readAt: new Date() };
  };
  return (maxAgeMs = DEFAULT_MAX_AGE_MS) => {
    if (last && Date.now() - last.readAt.getTime() <= maxAgeMs) return Promise.resolve(last);
    inflight ??= read()
      .then((stats) => {
        last = stats;
        return stats;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
}
