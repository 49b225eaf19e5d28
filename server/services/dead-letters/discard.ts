import { and, eq } from 'drizzle-orm';
import { deadLetters } from '#drizzle/schema/dead_letters.ts';
import type { DeadLetter } from '#shared/schemas/admin.ts';
import { emitAudit } from '../../audit/emit.ts';
import { withTransaction } from '../../db/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { Precondition } from '../errors.ts';
import { auditActorFor, deadLetterScope, lockDeadLetter } from './view.ts';

/**
 * admin.deadLetters.discard: marks an open dead letter as dealt with, without running its job again. Discarding a
 * discarded one answers it unchanged (a retried call succeeds); a replayed one cannot be discarded, its job ran.
 */
export async function discardDeadLetter(ctx: ServiceContext, id: number): Promise<DeadLetter> {
  const scope = await deadLetterScope(ctx);
  return withTransaction(ctx, async (tx) => {
    const before = await lockDeadLetter(tx, scope, id);
    if (before.status === 'discarded') return before;
    if (before.status === 'replayed') throw new Precondition('This failed job was replayed; it cannot be discarded');
    const resolvedAt = new Date();
    await tx
      .update(deadLetters)
      .set({ status: 'discarded', resolvedBy: scope.userId, resolvedAt })
      .where(and(eq(deadLetters.id, id), eq(deadLetters.status, 'open')));
    await emitAudit(tx, ctx, {
      action: 'dead_letter.discard',
      actorType: auditActorFor(scope, before),
      resourceType: 'dead_letter',
      resourceId: id,
      oldValue: { status: before.status },
      newValue: { status: 'discarded' },
    });
    return { ...before, status: 'discarded' as const, resolvedBy: scope.userId, resolvedAt };
  });
}
