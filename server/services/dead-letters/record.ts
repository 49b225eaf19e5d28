import { and, eq } from 'drizzle-orm';
import { deadLetters } from '#drizzle/schema/dead_letters.ts';
import type { QueueName } from '#shared/jobs.ts';
import type { DeadLetter } from '#shared/schemas/admin.ts';
import { emitAudit } from '../../audit/emit.ts';
import { withTransaction } from '../../db/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { clipChars, createNotification, TEXT_MAX_CHARS } from '../notifications/create.ts';
import { deadLetterOwner } from './owner.ts';
import { loadDeadLetter } from './view.ts';

export interface DeadLetterInput {
  queue: QueueName;
  jobName: string;
  /** The BullMQ job id in `queue`: with the queue, what makes recording idempotent. */
  jobId: string;
  /** The job's data as enqueued (ids only, per the job payload rule). */
  payload: Record<string, unknown>;
  /** The last failure reason (already scrubbed by the processor runner). */
  error: string;
  attempts: number;
}

/** What the owner is told failed, per queue. */
const WHAT_FAILED: Partial<Record<QueueName, string>> = {
  signals: 'An alert could not be processed',
  orders: 'An order could not be submitted to the broker',
  'order-status': "An order's status could not be refreshed",
  reconcile: 'A reconciliation run failed',
  sessions: 'A broker session could not be renewed',
  notify: 'A notification could not be delivered',
};

// The notification repeats the start of the reason; the dead letter keeps it whole.
const REASON_IN_MESSAGE_MAX_CHARS = 500;

/**
 * Records a job that failed for good: the dead_letters row, a `dead_letter.create` audit row (actor system, user
 * the owner) and, when the job belongs to a user, a `dead_letter.created` notification, all in one transaction.
 *
 * Idempotent per (queue, jobId): a second call for the same failed job returns the existing row and writes nothing.
 * The look-up and the insert are not serialized (the schema has no unique key on them, and locking a range of an
 * unindexed column would lock the whole table). The race is benign in practice: the recorder's own job id
 * (`dlr-<queue>-<jobId>`) lets BullMQ hold one recording job per failed job, so two recordings of the same job only
 * run together when that job stalls mid-transaction, and the worst outcome is a duplicate row an operator discards.
 */
export async function recordDeadLetter(
  ctx: ServiceContext,
  input: DeadLetterInput,
): Promise<{ deadLetter: DeadLetter; created: boolean }> {
  return withTransaction(ctx, async (tx) => {
    // No index serves (queue, job_id); the table only holds failures within DLQ_RETENTION_DAYS, and this runs once
    // per failed job.
    const [existing] = await tx
      .select({ id: deadLetters.id })
      .from(deadLetters)
      .where(and(eq(deadLetters.queue, input.queue), eq(deadLetters.jobId, input.jobId)))
      .limit(1);
    if (existing) return { deadLetter: await loadDeadLetter(tx, existing.id), created: false };

    const userId = await deadLetterOwner(tx, input.queue, input.payload);
    const [row] = await tx
      .insert(deadLetters)
      .values({
        queue: input.queue,
        jobName: clipChars(input.jobName, 128),
        jobId: input.jobId,
        userId,
        payload: input.payload,
        error: clipChars(input.error || 'unknown error', TEXT_MAX_CHARS),
        attempts: input.attempts,
      })
      .$returningId();
    if (!row) throw new Error('dead letter insert returned no id');

    await emitAudit(tx, ctx, {
      action: 'dead_letter.create',
      resourceType: 'dead_letter',
      resourceId: row.id,
      userId,
      newValue: { queue: input.queue, jobName: input.jobName, jobId: input.jobId, attempts: input.attempts },
    });
    if (userId !== null) {
      const what = WHAT_FAILED[input.queue] ?? 'A background job failed';
      const tries = input.attempts === 1 ? '1 attempt' : `${input.attempts} attempts`;
      const reason = clipChars(input.error, REASON_IN_MESSAGE_MAX_CHARS).replace(/[.\s]+$/, '');
      await createNotification(tx, {
        userId,
        type: 'dead_letter.created',
        severity: 'error',
        title: what,
        message: `${what} after ${tries}: ${reason}. You can replay or discard it from the list of failed jobs.`,
        data: { deadLetterId: row.id },
      });
    }
    return { deadLetter: await loadDeadLetter(tx, row.id), created: true };
  });
}
