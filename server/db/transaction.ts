import { MySqlTransaction } from 'drizzle-orm/mysql-core';
import type { Database } from './client.ts';

export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
/** A database handle or an open transaction: service verbs accept either and run in what they are given. */
export type DbOrTx = Database | Transaction;

/**
 * Runs `fn` in a transaction, reusing the caller's when one is already open (MySQL has no real nested transactions,
 * and a savepoint would hide a failed audit write from the outer transaction).
 */
export async function withTransaction<T>(ctx: { db: DbOrTx }, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  if (ctx.db instanceof MySqlTransaction) return fn(ctx.db as Transaction);
  return (ctx.db as Database).transaction(fn);
}
