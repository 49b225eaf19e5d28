/**
 * The job side of dead letters: a job given up on is handed to the `dead-letters` queue (its recorder reads the
 * failed job back from Redis and writes the row, server/jobs/processors/dead-letters.ts), and a replayed dead
 * letter's job goes back to its original queue.
 */
import type { Job } from 'bullmq';
import { type JobName, type JobPayload, QUEUE_NAMES, type QueueName } from '#shared/jobs.ts';
import type { Logger } from '../lib/logger.ts';
import { enqueue } from './enqueue.ts';
import type { NamedQueue, Queues } from './queue-factory.ts';

/** One recording job per failed job. BullMQ refuses custom ids with `:`, which scheduler job ids contain. */
export function deadLetterRecordJobId(queue: QueueName, jobId: string): string {
  return `dlr-${queue}-${jobId.replaceAll(':', '_')}`;
}

/**
 * Whether a job given up on becomes a dead letter. Not the recorder's own jobs (a failing recorder would record
 * itself forever), and not scheduler jobs: the next scheduled run replaces a failed one, and recording each would
 * write a row every interval for as long as an outage lasts.
 */
export function deservesDeadLetter(queue: QueueName, job: Job): boolean {
  return queue !== 'dead-letters' && job.id !== undefined && !job.repeatJobKey;
}

// The failed job just reached Redis, so Redis is up; a few quick tries ride out a blip on the producer connection.
const RECORD_ENQUEUE_TRIES = 3;
const RECORD_ENQUEUE_PAUSE_MS = 500;

/**
 * Enqueues the recording of a job of `queue` that failed for good (a worker's `failed` listener calls it). Never
 * rejects: when the add keeps failing, the failed job stays in Redis for the queue's removeOnFail age and the error
 * log names it.
 */
export async function enqueueDeadLetterRecord(
  queues: Pick<Queues, 'dead-letters'>,
  queue: QueueName,
  job: Job,
  log: Logger,
): Promise<void> {
  if (!deservesDeadLetter(queue, job)) return;
  const jobId = String(job.id);
  const options = { jobId: deadLetterRecordJobId(queue, jobId) };
  for (let attempt = 1; ; attempt++) {
    try {
      await enqueue(queues['dead-letters'], 'record-dead-letter', { queue, jobId }, options);
      return;
    } catch (err) {
      if (attempt >= RECORD_ENQUEUE_TRIES) {
        log.error({ err, queue, job: job.name, jobId }, 'failed job not handed to the dead-letter recorder');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, RECORD_ENQUEUE_PAUSE_MS * attempt));
    }
  }
}

/**
 * The AppDeps `enqueueReplay` of the api: adds a replayed dead letter's job to its original queue, validated
 * against that queue's payload schema like every producer's job. The names are runtime values read from the
 * dead_letters row, hence the casts; enqueue refuses a name or payload the queue does not accept.
 */
export function enqueueReplayJob(
  queues: Queues,
  queue: QueueName,
  name: string,
  payload: Record<string, unknown>,
  jobId: string,
): Promise<Job> {
  if (!QUEUE_NAMES.includes(queue)) return Promise.reject(new Error(`unknown queue ${queue}`));
  const target = queues[queue] as NamedQueue<QueueName>;
  return enqueue(target, name as JobName<QueueName>, payload as JobPayload<QueueName, JobName<QueueName>>, { jobId });
}
