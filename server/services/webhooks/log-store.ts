/**
 * The webhook_logs writes and reads of ingestion, each bounded by the request's deadline: TradingView gives up
 * after 3 s, and mysql2 has no acquire timeout (PITFALLS trap 10), so a down database or an exhausted pool answers
 * a quick 503 rather than a hung request. A query cut off by the deadline may still complete later; a retried alert
 * is then caught by deduplication.
 */
import { and, eq, or, sql } from 'drizzle-orm';
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

/**
 * Inserts many logs in one statement and returns their ids in order. Only valid where the server hands one
 * multi-row INSERT consecutive ids (`consecutive`, see autoIncrementLayout): the first is the statement's insertId
 * and each next one `step` further.
 */
export async function insertLogs(
  db: DbOrTx,
  rows: WebhookLogInsert[],
  step: number,
  deadline: number,
): Promise<number[]> {
  const [header] = await bounded(db.insert(webhookLogs).values(rows), deadline, 'webhook log batch insert');
  if (header.affectedRows !== rows.length) {
    throw new Error(`webhook log batch insert wrote ${header.affectedRows} of ${rows.length} rows`);
  }
  return rows.map((_, index) => header.insertId + index * step);
}

export interface AutoIncrementLayout {
  /** True when one multi-row INSERT always gets consecutive ids (InnoDB lock mode 0 or 1, MariaDB's default). */
  consecutive: boolean;
  /** auto_increment_increment: the distance between consecutive ids (1 unless multi-primary replication). */
  step: number;
}

/** How the server numbers the rows of one multi-row INSERT (MySQL 8 defaults to lock mode 2, interleaved). */
export async function autoIncrementLayout(db: DbOrTx): Promise<AutoIncrementLayout> {
  const [rows] = (await db.execute(
    sql`SELECT @@innodb_autoinc_lock_mode AS lockMode, @@auto_increment_increment AS step`,
  )) as unknown as [Array<{ lockMode: number | string; step: number | string }>];
  const row = rows[0];
  const lockMode = Number(row?.lockMode);
  return { consecutive: lockMode === 0 || lockMode === 1, step: Number(row?.step ?? 1) || 1 };
}

/**
 * The logs holding any of `keys` (strategy id and dedup key pairs) in one query on
 * webhook_logs_strategy_id_dedup_key_uq, keyed `<strategyId>|<dedupKey>`.
 */
export async function findDedupHolders(
  db: DbOrTx,
  keys: Array<{ strategyId: number; dedupKey: string }>,
  deadline: number,
): Promise<Map<string, { id: number; receivedAt: Date }>> {
  const holders = new Map<string, { id: number; receivedAt: Date }>();
  if (keys.length === 0) return holders;
  const rows = await bounded(
    db
      .select({
        id: webhookLogs.id,
        strategyId: webhookLogs.strategyId,
        dedupKey: webhookLogs.dedupKey,
        receivedAt: webhookLogs.receivedAt,
      })
      .from(webhookLogs)
      .where(
        or(...keys.map((k) => and(eq(webhookLogs.strategyId, k.strategyId), eq(webhookLogs.dedupKey, k.dedupKey)))),
      ),
    deadline,
    'webhook dedup lookup',
  );
  for (const row of rows) holders.set(dedupHolderKey(row.strategyId, row.dedupKey ?? ''), row);
  return holders;
}

export function dedupHolderKey(strategyId: number, dedupKey: string): string {
  return `${strategyId}|${dedupKey}`;
}
