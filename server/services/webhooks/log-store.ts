/**
 * The webhook_logs writes and reads of ingestion, each bounded by the request's deadline: TradingView gives up
 * after 3 s, and mysql2 has no acquire timeout (PITFALLS trap 10), so a down database or an exhausted pool answers
 * a quick 503 rather than a hung request. A query cut off by the deadline may still complete later; a retried alert
 * is then caught by deduplication.
 */
import { and, eq } from 'drizzle-orm';
import { webhookLogs } from '#drizzle/schema/webhook_logs.ts';
import { withTimeout } from '../../db/client.ts';
import { isDuplicateKey } from '../../db/errors.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import { ServiceUnavailable } from '../errors.ts';

export type WebhookLogInsert = typeof webhookLogs.$inferInsert;

/** The database did not answer in time or failed: the route answers 503 `service-unavailable`. */
export class DatabaseUnavailable extends ServiceUnavailable {}

/** Runs a query within what is left until `deadline` (epoch ms). A duplicate-key error passes through untouched. */
export async function bounded<T>(query: PromiseLike<T>, deadline: number, what: string): Promise<T> {
  try {
    return await withTimeout(Promise.resolve(query), Math.max(1, deadline - Date.now()), what);
  } catch (error) {
    if (isDuplicateKey(error)) throw error;
    throw new DatabaseUnavailable('The database is unavailable; retry shortly', { cause: error });
  }
}

/** Column bounds of webhook_logs, applied to what the request supplies (a long header must not fail the insert). */
export function clip(value: string | undefined, max: number): string | null {
  if (value === undefined || value === '') return null;
  return value.length > max ? value.slice(0, max) : value;
}

export async function insertLog(db: DbOrTx, row: WebhookLogInsert, deadline: number): Promise<number> {
  const [inserted] = await bounded(db.insert(webhookLogs).values(row).$returningId(), deadline, 'webhook log insert');
  if (!inserted) throw new Error('webhook log insert returned no id');
  return inserted.id;
}

/**
 * The log holding `dedupKey` for the strategy (served by webhook_logs_strategy_id_dedup_key_uq). Deleted logs count:
 * an idempotency key stays used forever.
 */
export async function findDedupHolder(
  db: DbOrTx,
  strategyId: number,
  dedupKey: string,
  deadline: number,
): Promise<{ id: number; receivedAt: Date } | undefined> {
  const [row] = await bounded(
    db
      .select({ id: webhookLogs.id, receivedAt: webhookLogs.receivedAt })
      .from(webhookLogs)
      .where(and(eq(webhookLogs.strategyId, strategyId), eq(webhookLogs.dedupKey, dedupKey)))
      .limit(1),
    deadline,
    'webhook dedup lookup',
  );
  return row;
}
