/**
 * Deduplication (SPEC §4 step 5), decided by the unique key (strategy_id, dedup_key) so concurrent identical alerts
 * cannot both be accepted:
 * - an explicit idempotencyKey is `key:<sha256(key)>`, unique forever per strategy;
 * - otherwise the byte-identical body within the window is `body:<sha256(body)>:<bucket>`, the bucket being the
 *   window-long slice of time the alert arrived in. Identical alerts in one bucket collide on the unique key; one in
 *   the previous bucket is found by a point lookup and counts when it arrived less than the window ago. (Two
 *   identical alerts racing across a bucket boundary within the same milliseconds can both pass: the lookup cannot
 *   see an uncommitted row. Same-instant races, the real case of a double delivery, always share a bucket.)
 * `orderName` (`id`, TradingView's `{{strategy.order.id}}` such as `Long`) never takes part: it repeats on every alert.
 * Only accepted logs hold a key: a duplicate stores NULL and points at the original through duplicate_of, and a
 * rejected alert holds none, so a corrected retry is not refused as a duplicate of its rejection.
 */
import type { Signal } from '#shared/schemas/signal.ts';
import { isDuplicateKey } from '../../db/errors.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import { sha256Hex } from '../../lib/crypto.ts';
import { DatabaseUnavailable, findDedupHolder, insertLog, type WebhookLogInsert } from './log-store.ts';

export interface DedupPlan {
  /** Stored in the accepted log's dedup_key. */
  key: string;
  /** Also a duplicate when this key's log arrived at or after `since` (the previous bucket of a body key). */
  previous?: { key: string; since: number };
}

export function dedupPlan(signal: Signal, rawBody: string, nowMs: number, windowS: number): DedupPlan {
  if (signal.idempotencyKey !== undefined) return { key: `key:${sha256Hex(signal.idempotencyKey)}` };
  const windowMs = windowS * 1000;
  const bucket = Math.floor(nowMs / windowMs);
  const body = sha256Hex(rawBody);
  return {
    key: `body:${body}:${bucket}`,
    previous: { key: `body:${body}:${bucket - 1}`, since: nowMs - windowMs + 1 },
  };
}

export type AcceptOutcome = { accepted: true; id: number } | { accepted: false; id: number; duplicateOf: number };

/**
 * Writes the log of an alert that passed every check: `received` with its dedup key when it is new (committed when
 * this returns: a single autocommit INSERT), or `duplicate` pointing at the log that holds the key.
 */
export async function writeAcceptedOrDuplicate(
  db: DbOrTx,
  row: WebhookLogInsert,
  plan: DedupPlan | undefined,
  deadline: number,
): Promise<AcceptOutcome> {
  if (!plan) return { accepted: true, id: await insertLog(db, { ...row, status: 'received' }, deadline) };
  if (plan.previous) {
    const earlier = await findDedupHolder(db, row.strategyId, plan.previous.key, deadline);
    if (earlier && earlier.receivedAt.getTime() >= plan.previous.since) {
      return writeDuplicate(db, row, earlier.id, deadline);
    }
  }
  try {
    return { accepted: true, id: await insertLog(db, { ...row, status: 'received', dedupKey: plan.key }, deadline) };
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
  }
  const holder = await findDedupHolder(db, row.strategyId, plan.key, deadline);
  // Logs are never hard-deleted, so the holder exists; if not, the caller answers a retryable 503.
  if (!holder) throw new DatabaseUnavailable('The alert could not be deduplicated; retry shortly');
  return writeDuplicate(db, row, holder.id, deadline);
}

async function writeDuplicate(
  db: DbOrTx,
  row: WebhookLogInsert,
  duplicateOf: number,
  deadline: number,
): Promise<AcceptOutcome> {
  const id = await insertLog(db, { ...row, status: 'duplicate', dedupKey: null, duplicateOf }, deadline);
  return { accepted: false, id, duplicateOf };
}
