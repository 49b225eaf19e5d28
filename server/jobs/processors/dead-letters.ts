import { Job } from 'bullmq';
import type { DatabaseHandle } from '../../db/client.ts';
import type { Logger } from '../../lib/logger.ts';
import { recordDeadLetter } from '../../services/dead-letters/record.ts';
import { NotFound } from '../../services/errors.ts';
import type { Queues } from '../queue-factory.ts';
import { deadLettersQueue } from '../queues/dead-letters.ts';
import { defineProcessor } from '../run-processor.ts';

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Records a job that failed for good (server/jobs/dead-letters.ts enqueues one `record-dead-letter` per failed job).
 * The failed job is read back from its queue, where removeOnFail keeps it: its name, data, last reason and
 * attempts become the dead_letters row. `queues` are the queues to read from.
 */
export function deadLettersProcessor(deps: { database: DatabaseHandle; log: Logger; queues: Queues }) {
  return defineProcessor(
    deadLettersQueue,
    { db: deps.database.db, log: deps.log },
    {
      'record-dead-letter': async (ctx, { queue, jobId }) => {
        const job = await Job.fromId(deps.queues[queue], jobId);
        if (!job) throw new NotFound(`${queue} job ${jobId}`);
        // Someone retried it by hand since (or it is running again): it is not dead.
        const state = await job.getState();
        if (state !== 'failed') return { created: false, state };
        const { deadLetter, created } = await recordDeadLetter(ctx, {
          queue,
          jobName: job.name,
          jobId,
          payload: isRecord(job.data) ? job.data : { data: job.data },
          error: job.failedReason ?? '',
          attempts: job.attemptsMade,
        });
        return { created, deadLetterId: deadLetter.id };
      },
    },
  );
}
