/**
 * Which connections get a session-upkeep scheduler (`session-<id>` on the sessions queue), and how often it runs:
 * every live connection that is not disconnected, expired ones included, because checking an expired session is how
 * its recovery is noticed. Like reconciliation's (services/reconcile/schedules.ts) the set follows the database: the
 * verbs that change a connection sync it at once, a session that expires or comes back syncs it, and a periodic
 * step (syncSessionSchedules) repairs everything else (a crash between a commit and its scheduler change, a new
 * interval after a deploy).
 */
import { and, inArray, ne } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import type { Broker, ConnectionStatus } from '#shared/enums.ts';
import { notDeleted } from '../../../db/soft-delete.ts';
import type { DbOrTx } from '../../../db/transaction.ts';
import type { ServiceContext } from '../../context.ts';
import { type SchedulerSet, type SyncCounts, syncSchedulerSet } from '../../scheduler-sets.ts';

/** Milliseconds between checks of a broker's connections (env ALPACA/TRADOVATE/IBKR_SESSION_INTERVAL_S). */
export type SessionIntervals = Record<Broker, number>;

/** The job layer's scheduler operations (server/jobs/schedulers.ts), injected: services never import server/jobs. */
export interface SessionSchedules extends SchedulerSet {
  readonly intervals: SessionIntervals;
}

/**
 * Checking an expired Tradovate connection means trying to log in, and Tradovate counts failed logins: 5 an hour,
 * then penalty tickets, then a lockout of the trader's account. Every 15 minutes stays inside that budget.
 */
export const EXPIRED_TRADOVATE_EVERY_MS = 15 * 60_000;

/** How often a connection's session is checked: its broker's interval, slower for an expired Tradovate login. */
export function sessionEveryMs(intervals: SessionIntervals, broker: Broker, status: ConnectionStatus): number {
  if (broker === 'tradovate' && status === 'expired') return Math.max(EXPIRED_TRADOVATE_EVERY_MS, intervals.tradovate);
  return intervals[broker];
}

/** The connections among `connectionIds` (all when omitted) whose session is kept, each with its interval. */
export async function connectionsToKeep(
  db: DbOrTx,
  intervals: SessionIntervals,
  connectionIds?: number[],
): Promise<Map<number, number>> {
  if (connectionIds?.length === 0) return new Map();
  const rows = await db
    .select({ id: brokerConnections.id, broker: brokerConnections.broker, status: brokerConnections.status })
    .from(brokerConnections)
    .where(
      and(
        notDeleted(brokerConnections),
        ne(brokerConnections.status, 'disconnected'),
        connectionIds ? inArray(brokerConnections.id, connectionIds) : undefined,
      ),
    );
  return new Map(rows.map((row) => [row.id, sessionEveryMs(intervals, row.broker, row.status)]));
}

/**
 * After a connection changed (connect, credentials, disconnect, a session lost or restored): adds, moves or removes
 * its scheduler. A Redis failure is logged, not thrown: the change itself committed, and the periodic sync catches up.
 */
export async function syncConnectionSession(
  ctx: ServiceContext,
  schedules: SessionSchedules | undefined,
  connectionId: number,
): Promise<void> {
  if (!schedules) return;
  try {
    const everyMs = (await connectionsToKeep(ctx.db, schedules.intervals, [connectionId])).get(connectionId);
    await (everyMs === undefined ? schedules.remove(connectionId) : schedules.upsert(connectionId, everyMs));
  } catch (err) {
    ctx.log.warn({ err, connectionId }, 'session scheduler not updated; the periodic sync will');
  }
}

/** The periodic step: one scheduler per kept connection, at its current interval, and no other. */
export async function syncSessionSchedules(ctx: ServiceContext, schedules: SessionSchedules): Promise<SyncCounts> {
  const counts = await syncSchedulerSet(schedules, await connectionsToKeep(ctx.db, schedules.intervals));
  const { added, updated, removed } = counts;
  if (added + updated + removed > 0) ctx.log.info(counts, 'session schedulers synced');
  return counts;
}
