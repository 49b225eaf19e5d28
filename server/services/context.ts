/**
 * What every service verb receives: who is acting, where to read and write (the db or the caller's transaction),
 * the logger and the request or job id. Transport layers build it; services never look at HTTP or BullMQ.
 */
import type { DbOrTx } from '../db/transaction.ts';
import type { Logger } from '../lib/logger.ts';

export type Actor =
  | { type: 'anonymous' }
  | { type: 'user'; userId: number; role: 'user' | 'admin' }
  | { type: 'webhook'; userId: number; strategyId: number }
  | { type: 'system'; job?: string };

export interface ServiceContext {
  db: DbOrTx;
  log: Logger;
  requestId: string;
  actor: Actor;
  ip?: string;
  userAgent?: string;
}

/** The id of the signed-in user acting, for owner-scoped queries. Procedures behind protectedProcedure always have one. */
export function actingUserId(ctx: ServiceContext): number {
  if (ctx.actor.type !== 'user') throw new Error(`expected a user actor, got ${ctx.actor.type}`);
  return ctx.actor.userId;
}
