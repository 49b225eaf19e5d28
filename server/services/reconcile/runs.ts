/**
 * The reconciliation_runs rows of a connection: one run at a time (claimed under the connection row's lock), and its
 * result written together with the mismatch notification, so an alert exists exactly when its run says so.
 *
 * A run in progress proves it is alive: its worker touches heartbeat_at every `heartbeatMs` (run-heartbeat.ts), on a
 * timer that keeps beating while the run awaits a slow broker. A run whose heartbeat is older than `staleAfterMs`
 * died with its worker (SIGKILL, out of memory, a lost host), and the next claim closes it as interrupted. Heartbeats
 * are written and judged by the database's clock, never a worker's: workers on different hosts may disagree.
 */
import { and, desc, eq, inArray, isNull, lt, lte, sql } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import { reconciliationRuns } from '#drizzle/schema/reconciliation_runs.ts';
import type { Database } from '../../db/client.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { Transaction } from '../../db/transaction.ts';
import { createNotification } from '../notifications/create.ts';
import { mismatchFingerprint, type RunDiscrepancy } from './compare.ts';

export interface RunLiveness {
  /** How often a run in progress touches its heartbeat. */
  heartbeatMs: number;
  /** A run in progress whose heartbeat is older than this is dead; a few missed beats, so a slow query is not. */
  staleAfterMs: number;
}

export const RUN_LIVENESS: RunLiveness = { heartbeatMs: 15_000, staleAfterMs: 45_000 };

/** The error of a run closed because its worker stopped beating (shown in brokers.getReconciliationRuns). */
export const RUN_INTERRUPTED = 'The run was interrupted before it finished';

const dbNow = sql`CURRENT_TIMESTAMP(3)`;

export interface ConnectionOfRun {
  id: number;
  userId: number;
  broker: string;
  name: string;
}

export type RunClaim =
  | { kind: 'started'; runId: number; connection: ConnectionOfRun }
  | { kind: 'gone' }
  | { kind: 'busy'; runId: number };

/**
 * Starts a run unless one is already in progress for the connection. The check and the insert happen under the
 * connection row's lock, so two workers (a scheduled run and an on-demand one) never run the same connection at once.
 * A run in progress whose heartbeat is stale is closed as interrupted first, and no longer counts.
 */
export async function claimRun(
  db: Database,
  connectionId: number,
  now: Date,
  staleAfterMs = RUN_LIVENESS.staleAfterMs,
): Promise<RunClaim> {
  return db.transaction(async (tx) => {
    const [connection] = await tx
      .select({
        id: brokerConnections.id,
        userId: brokerConnections.userId,
        broker: brokerConnections.broker,
        name: brokerConnections.name,
      })
      .from(brokerConnections)
      .where(and(eq(brokerConnections.id, connectionId), notDeleted(brokerConnections)))
      .for('update');
    if (!connection) return { kind: 'gone' as const };
    const running = and(eq(reconciliationRuns.brokerConnectionId, connectionId), isNull(reconciliationRuns.status));
    const staleBefore = sql`${dbNow} - INTERVAL ${Math.round(staleAfterMs * 1_000)} MICROSECOND`;
    await tx
      .update(reconciliationRuns)
      .set({ status: 'error', finishedAt: now, error: RUN_INTERRUPTED })
      .where(and(running, lte(reconciliationRuns.heartbeatAt, staleBefore)));
    const [busy] = await tx.select({ id: reconciliationRuns.id }).from(reconciliationRuns).where(running).limit(1);
    if (busy) return { kind: 'busy' as const, runId: busy.id };
    const [inserted] = await tx
      .insert(reconciliationRuns)
      .values({ brokerConnectionId: connectionId, startedAt: now, heartbeatAt: dbNow })
      .$returningId();
    if (!inserted) throw new Error('reconciliation run insert returned no id');
    return { kind: 'started' as const, runId: inserted.id, connection };
  });
}

/**
 * A run's heartbeat: the database's now, on a run still in progress (a run already closed stays as it is). Returns
 * false when the run is no longer in progress.
 */
export async function touchRun(db: Database, runId: number): Promise<boolean> {
  const [result] = await db
    .update(reconciliationRuns)
    .set({ heartbeatAt: dbNow })
    .where(and(eq(reconciliationRuns.id, runId), isNull(reconciliationRuns.status)));
  return result.affectedRows > 0;
}

export interface RunOutcome {
  discrepancies: RunDiscrepancy[];
  ordersUpdated: number;
}

/**
 * Records a completed comparison. A mismatch notifies the owner only when its fingerprint differs from the previous
 * completed run's (runs that could not compare are skipped): a mismatch that persists is reported once, and again
 * only when it changes or comes back after the books agreed. A run already closed (taken for dead while it worked, its
 * heartbeats lost) keeps its interrupted status: its result is dropped, as another run may have started since.
 * Returns whether the result was recorded and whether it notified.
 */
export async function finishRun(
  db: Database,
  run: { runId: number; connection: ConnectionOfRun },
  outcome: RunOutcome,
  now: Date,
): Promise<{ recorded: boolean; notified: boolean }> {
  return db.transaction(async (tx) => {
    const status = outcome.discrepancies.length > 0 ? 'mismatch' : 'ok';
    const [result] = await tx
      .update(reconciliationRuns)
      .set({
        status,
        finishedAt: now,
        // The column's type (drizzle/schema) has an optional note rather than a null one.
        discrepancies: outcome.discrepancies.map(({ note, ...rest }) => (note === null ? rest : { ...rest, note })),
        ordersUpdated: outcome.ordersUpdated,
      })
      .where(and(eq(reconciliationRuns.id, run.runId), isNull(reconciliationRuns.status)));
    if (result.affectedRows === 0) return { recorded: false, notified: false };
    const fingerprint = mismatchFingerprint(outcome.discrepancies);
    if (fingerprint === '' || fingerprint === (await previousFingerprint(tx, run))) {
      return { recorded: true, notified: false };
    }
    await notifyMismatch(tx, run, outcome.discrepancies);
    return { recorded: true, notified: true };
  });
}

/** Records a run that could not compare (the broker was unreachable, its session expired…), unless already closed. */
export async function failRun(db: Database, runId: number, reason: string, now: Date): Promise<void> {
  await db
    .update(reconciliationRuns)
    .set({ status: 'error', finishedAt: now, error: reason.slice(0, 1000) })
    .where(and(eq(reconciliationRuns.id, runId), isNull(reconciliationRuns.status)));
}

async function previousFingerprint(tx: Transaction, run: { runId: number; connection: ConnectionOfRun }) {
  const [previous] = await tx
    .select({ discrepancies: reconciliationRuns.discrepancies })
    .from(reconciliationRuns)
    .where(
      and(
        eq(reconciliationRuns.brokerConnectionId, run.connection.id),
        lt(reconciliationRuns.id, run.runId),
        inArray(reconciliationRuns.status, ['ok', 'mismatch']),
      ),
    )
    // Runs of a connection never overlap, so start order is id order; started_at lets the connection's index serve.
    .orderBy(desc(reconciliationRuns.startedAt), desc(reconciliationRuns.id))
    .limit(1);
  return mismatchFingerprint((previous?.discrepancies ?? []) as RunDiscrepancy[]);
}

async function notifyMismatch(
  tx: Transaction,
  run: { runId: number; connection: ConnectionOfRun },
  discrepancies: RunDiscrepancy[],
): Promise<void> {
  const lines = discrepancies.map((d) => `${d.symbol}: broker ${d.broker}, Fillpath ${d.local}`);
  await createNotification(tx, {
    userId: run.connection.userId,
    type: 'reconciliation.mismatch',
    severity: 'warning',
    title: `Positions differ from ${run.connection.broker} (${run.connection.name})`,
    message: `The broker and Fillpath disagree on ${discrepancies.length === 1 ? 'one symbol' : `${discrepancies.length} symbols`}: ${lines.join('; ')}`,
    data: { connectionId: run.connection.id, reconciliationRunId: run.runId },
  });
}
