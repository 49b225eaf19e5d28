/**
 * What a queue's domain must put right before one of its dead jobs runs again, e.g. the execution engine resets a
 * `failed` order to `pending` so the replayed submit job picks it up. A hook runs inside the replay transaction,
 * before the dead letter turns `replayed`: if it throws, nothing changes and the replay fails with its error.
 *
 * A hook's change is committed before the job is added, and the add may still fail (the dead letter then goes back
 * to `open`), so a hook must be idempotent: a later replay runs it again on the state it left.
 */
import type { QueueName } from '#shared/jobs.ts';
import type { Transaction } from '../../db/transaction.ts';

export type ReplayHook = (tx: Transaction, payload: Record<string, unknown>) => Promise<void>;

const hooks = new Map<QueueName, ReplayHook>();

/** Sets the queue's hook (one per queue; a later registration replaces it). Returns a function that removes it. */
export function registerReplayHook(queue: QueueName, hook: ReplayHook): () => void {
  hooks.set(queue, hook);
  return () => {
    if (hooks.get(queue) === hook) hooks.delete(queue);
  };
}

export function replayHookFor(queue: QueueName): ReplayHook | undefined {
  return hooks.get(queue);
}
