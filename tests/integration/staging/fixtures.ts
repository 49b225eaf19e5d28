/** Staged signals written directly, as the engine stages them (execution/staging.ts), for tests about deciding. */
import { eq } from 'drizzle-orm';
import { auditLogs } from '../../../drizzle/schema/audit_logs.ts';
import { stagingTrades } from '../../../drizzle/schema/staging_trades.ts';
import { webhookLogs } from '../../../drizzle/schema/webhook_logs.ts';
import type { Database } from '../../../server/db/client.ts';

export interface StagedRow {
  id: number;
  webhookLogId: number;
}

/** A `staged` log and its `pending` staging row for `strategyId`, expiring at `expiresAt`. */
export async function insertStaged(
  db: Database,
  strategyId: number,
  options: { expiresAt?: Date; symbol?: string; createdAt?: Date } = {},
): Promise<StagedRow> {
  const symbol = options.symbol ?? 'AAPL';
  const signal = { ticker: symbol, action: 'buy', quantity: '2' };
  const [log] = await db
    .insert(webhookLogs)
    .values({ strategyId, receivedAt: new Date(), rawBody: JSON.stringify(signal), payload: signal, status: 'staged' })
    .$returningId();
  if (!log) throw new Error('log insert returned no id');
  const [row] = await db
    .insert(stagingTrades)
    .values({
      strategyId,
      webhookLogId: log.id,
      symbol,
      action: 'buy',
      quantity: '2',
      signal,
      expiresAt: options.expiresAt ?? new Date(Date.now() + 5 * 60_000),
      ...(options.createdAt ? { createdAt: options.createdAt } : {}),
    })
    .$returningId();
  if (!row) throw new Error('staging insert returned no id');
  return { id: row.id, webhookLogId: log.id };
}

export async function stagingRow(db: Database, id: number) {
  const [row] = await db.select().from(stagingTrades).where(eq(stagingTrades.id, id));
  return row;
}

export async function logRow(db: Database, id: number) {
  const [row] = await db.select().from(webhookLogs).where(eq(webhookLogs.id, id));
  return row;
}

/** The audit rows about staging row `id`, oldest first. */
export async function stagingAudits(db: Database, id: number) {
  const rows = await db
    .select()
    .from(auditLogs)
    .where(eq(auditLogs.resourceId, String(id)));
  return rows.filter((row) => row.resourceType === 'staging_trade').sort((a, b) => a.id - b.id);
}
