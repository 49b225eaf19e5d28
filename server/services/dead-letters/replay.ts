import { and, eq } from 'drizzle-orm';
import { deadLetters } from '#drizzle/schema/dead_letters.ts';
import { jobPayloadSchema, QUEUE_NAMES, type QueueName } from '#shared/jobs.ts';
import type { DeadLetter } from '#shared/schemas/admin.ts';
import { emitAudit } from '../../audit/emit.ts';
import { withTransaction } from '../../db/transaction.ts';
import { scrubError } from '../../lib/scrub.ts';
import type { ServiceContext } from '../context.ts';
import { Conflict, Precondition, ServiceUnavailable } from '../errors.ts';
import { replayHookFor } from './replay-hooks.ts';
import { auditActorFor, type DeadLetterScope, deadLetterScope, lockDeadLetter } from './view.ts';

/**
 * Adds a job to `queue` under `jobId` (server/jobs, injected so services never import the job layer). With a job
 * of that id still in the queue, BullMQ keeps the existing one. Rejects when Redis is unavailable.
 */
export type EnqueueReplay = (
  queue: QueueName,
  name: string,
  payload: Record<string, unknown>,
  jobId: string,
) => Promise<unknown>;

/** One job id per dead letter, so a replay reaches the queue at most once. */
export function replayJobId(deadLetterId: number): string {
  return `dl-${deadLetterId}`;
}

/** The dead letter's queue, if its job can still run there: a known queue that accepts the stored name and payload. */
function replayableQueue(row: DeadLetter): QueueName {
  const queue = QUEUE_NAMES.find((name) => name === row.queue);
  if (queue && jobPayloadSchema(queue, row.jobName)?.safeParse(row.payload).success) return queue;
  throw new Precondition(`This failed job can no longer be replayed: the ${row.queue} queue does not accept it`);
}

/**
 * admin.deadLetters.replay: runs the failed job again, with its original queue, name and payload, once.
 *
 * One transaction locks the row, runs the queue's replay hook (replay-hooks.ts), turns the row `open` → `replayed`
 * and writes the audit row; the job is added after the commit (never a network call inside a transaction), under
 * the id `dl-<id>`. A second replay finds the row `replayed` and adds nothing; it answers the row as it is, so a
 * client retrying the call sees success. If the add fails the row goes back to `open` (audited as
 * `dead_letter.replay_failed`) and the caller gets ServiceUnavailable; the hook's committed change stays (hooks are
 * idempotent). Must not run inside a caller's transaction, which would still be open at the add.
 */
export async function replayDeadLetter(
  ctx: ServiceContext,
  enqueueReplay: EnqueueReplay,
  id: number,
): Promise<DeadLetter> {
  const scope = await deadLetterScope(ctx);
  const outcome = await withTransaction(ctx, async (tx) => {
    const before = await lockDeadLetter(tx, scope, id);
    if (before.status === 'replayed') return { row: before, queue: null };
    if (before.status === 'discarded') throw new Precondition('This failed job was discarded; it cannot be replayed');
    const queue = replayableQueue(before);
    await replayHookFor(queue)?.(tx, before.payload);

    const resolvedAt = new Date();
    const [result] = await tx
      .update(deadLetters)
      .set({ status: 'replayed', resolvedBy: scope.userId, resolvedAt })
      .where(and(eq(deadLetters.id, id), eq(deadLetters.status, 'open')));
    // The row lock makes this unreachable unless a hook changed the row itself.
    if (result.affectedRows !== 1) throw new Conflict('This failed job changed while it was being replayed');
    await emitAudit(tx, ctx, {
      action: 'dead_letter.replay',
      actorType: auditActorFor(scope, before),
      resourceType: 'dead_letter',
      resourceId: id,
      oldValue: { status: before.status },
      newValue: { status: 'replayed', queue, jobName: before.jobName, replayJobId: replayJobId(id) },
    });
    return { row: { ...before, status: 'replayed' as const, resolvedBy: scope.userId, resolvedAt }, queue };
  });
  if (outcome.queue === null) return outcome.row;

  try {
    await enqueueReplay(outcome.queue, outcome.row.jobName, outcome.row.payload, replayJobId(id));
  } catch (error) {
    ctx.log.warn({ err: error, deadLetterId: id, queue: outcome.queue }, 'replayed job not enqueued; reopening');
    await reopen(ctx, scope, outcome.row, error);
    throw new ServiceUnavailable(
      'The job queue is unavailable, so the job was not replayed; it is open again, retry shortly',
    );
  }
  return outcome.row;
}

/** Puts a replayed dead letter whose job could not be added back to `open`, audited. */
async function reopen(ctx: ServiceContext, scope: DeadLetterScope, row: DeadLetter, cause: unknown): Promise<void> {
  try {
    await withTransaction(ctx, async (tx) => {
      await tx
        .update(deadLetters)
        .set({ status: 'open', resolvedBy: null, resolvedAt: null })
        .where(and(eq(deadLetters.id, row.id), eq(deadLetters.status, 'replayed')));
      await emitAudit(tx, ctx, {
        action: 'dead_letter.replay_failed',
        actorType: auditActorFor(scope, row),
        resourceType: 'dead_letter',
        resourceId: row.id,
        oldValue: { status: 'replayed' },
        newValue: { status: 'open', reason: String(scrubError(cause).message ?? 'enqueue failed').slice(0, 200) },
      });
    });
  } catch (err) {
    // The row stays `replayed` with no job behind it; this line names it, so an operator can reopen or re-add it.
    ctx.log.error({ err, deadLetterId: row.id }, 'could not reopen a dead letter whose replay was not enqueued');
  }
}
