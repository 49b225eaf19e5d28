import { and, eq, type SQL } from 'drizzle-orm';
import { deadLetters } from '#drizzle/schema/dead_letters.ts';
import type { AuditActorType } from '#shared/enums.ts';
import type { DeadLetter } from '#shared/schemas/admin.ts';
import type { DbOrTx, Transaction } from '../../db/transaction.ts';
import { isActiveAdmin } from '../admin/is-active-admin.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { NotFound } from '../errors.ts';

/** The columns of a dead letter as the API shows it. */
export const deadLetterColumns = {
  id: deadLetters.id,
  queue: deadLetters.queue,
  jobName: deadLetters.jobName,
  jobId: deadLetters.jobId,
  userId: deadLetters.userId,
  payload: deadLetters.payload,
  error: deadLetters.error,
  attempts: deadLetters.attempts,
  status: deadLetters.status,
  resolvedBy: deadLetters.resolvedBy,
  resolvedAt: deadLetters.resolvedAt,
  createdAt: deadLetters.createdAt,
};

/** Who may see and act on which dead letters: `where` is undefined for an administrator (every row). */
export interface DeadLetterScope {
  userId: number;
  where: SQL | undefined;
}

/**
 * Owners see their own dead letters, administrators every one. The token's role is confirmed in the database (as
 * adminProcedure does), so a demoted or disabled administrator falls back to their own rows at once.
 */
export async function deadLetterScope(ctx: ServiceContext): Promise<DeadLetterScope> {
  const userId = actingUserId(ctx);
  const admin = ctx.actor.type === 'user' && ctx.actor.role === 'admin' && (await isActiveAdmin(ctx.db, userId));
  return { userId, where: admin ? undefined : eq(deadLetters.userId, userId) };
}

/** The audit actor: `admin` when an administrator acts on a dead letter that is not theirs. */
export function auditActorFor(scope: DeadLetterScope, row: Pick<DeadLetter, 'userId'>): AuditActorType {
  return row.userId === scope.userId ? 'user' : 'admin';
}

/** Loads one dead letter in scope, locked FOR UPDATE in `tx`; another user's id is NotFound, like a missing one. */
export async function lockDeadLetter(tx: Transaction, scope: DeadLetterScope, id: number): Promise<DeadLetter> {
  const [row] = await tx
    .select(deadLetterColumns)
    .from(deadLetters)
    .where(and(eq(deadLetters.id, id), scope.where))
    .for('update');
  if (!row) throw new NotFound('Dead letter');
  return row;
}

export async function loadDeadLetter(db: DbOrTx, id: number): Promise<DeadLetter> {
  const [row] = await db.select(deadLetterColumns).from(deadLetters).where(eq(deadLetters.id, id)).limit(1);
  if (!row) throw new NotFound('Dead letter');
  return row;
}
