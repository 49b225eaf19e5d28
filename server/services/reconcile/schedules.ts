/**
 * Which connections get a reconciliation scheduler (`reconcile-<id>`, every RECONCILE_INTERVAL_S): a live connection
 * whose session is usable and to which at least one active strategy routes through an active rule. A connection
 * none of whose routed strategies is active sends no orders, so it needs no reconciling.
 * The scheduler set follows the database in two ways: the verbs that change a connection sync that connection at
 * once, and a periodic step (syncReconcileSchedules) repairs everything else: strategies paused or resumed, rules
 * added or removed, a crash between a commit and its scheduler change.
 */
import { and, eq, inArray, notInArray } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import { routingRules } from '#drizzle/schema/routing_rules.ts';
import { strategies } from '#drizzle/schema/strategies.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { type SyncCounts, syncSchedulerSet } from '../scheduler-sets.ts';

/** The job layer's scheduler operations (server/jobs/schedulers.ts), injected: services never import server/jobs. */
export interface ReconcileSchedules {
  /** The interval every connection's scheduler should have. */
  readonly everyMs: number;
  /** Creates the connection's scheduler, or updates it in place (keeping its next run) when it exists. */
  upsert(connectionId: number): Promise<void>;
  remove(connectionId: number): Promise<void>;
  /** The connections that have a scheduler now, with its interval. */
  list(): Promise<Array<{ connectionId: number; everyMs: number | null }>>;
}

/** Sessions in these states cannot answer; the connection is scheduled again once a test or renewal restores it. */
const UNUSABLE_STATUSES = ['expired', 'disconnected'] as const;

/** The ids among `connectionIds` (all connections when omitted) that should be reconciled. */
export async function connectionsToReconcile(db: DbOrTx, connectionIds?: number[]): Promise<Set<number>> {
  if (connectionIds?.length === 0) return new Set();
  const rows = await db
    .selectDistinct({ id: brokerConnections.id })
    .from(brokerConnections)
    .innerJoin(
      routingRules,
      and(
        eq(routingRules.brokerConnectionId, brokerConnections.id),
        eq(routingRules.isActive, true),
        notDeleted(routingRules),
      ),
    )
    .innerJoin(
      strategies,
      and(eq(strategies.id, routingRules.strategyId), eq(strategies.isActive, true), notDeleted(strategies)),
    )
    .where(
      and(
        notDeleted(brokerConnections),
        notInArray(brokerConnections.status, [...UNUSABLE_STATUSES]),
        connectionIds ? inArray(brokerConnections.id, connectionIds) : undefined,
      ),
    );
  return new Set(rows.map((row) => row.id));
}

/**
 * After a verb changed a connection (connect, credentials, test, disconnect): adds or removes its scheduler. A
 * Redis failure is logged, not thrown: the change itself committed, and the periodic sync catches up.
 */
export async function syncConnectionSchedule(
  ctx: ServiceContext,
  schedules: ReconcileSchedules | undefined,
  connectionId: number,
): Promise<void> {
  if (!schedules) return;
  try {
    const wanted = (await connectionsToReconcile(ctx.db, [connectionId])).has(connectionId);
    await (wanted ? schedules.upsert(connectionId) : schedules.remove(connectionId));
  } catch (err) {
    ctx.log.warn({ err, connectionId }, 'reconciliation scheduler not updated; the periodic sync will');
  }
}

/** The periodic step: one scheduler per connection to reconcile, at the current interval, and no other. */
export async function syncReconcileSchedules(ctx: ServiceContext, schedules: ReconcileSchedules): Promise<SyncCounts> {
  const wanted = new Map([...(await connectionsToReconcile(ctx.db))].map((id) => [id, schedules.everyMs] as const));
  // Every reconciliation scheduler has the one interval, so its upsert takes none.
  const set = {
    list: () => schedules.list(),
    remove: (id: number) => schedules.remove(id),
    upsert: (id: number) => schedules.upsert(id),
  };
  const counts = await syncSchedulerSet(set, wanted);
  const { added, updated, removed } = counts;
  if (added + updated + removed > 0) ctx.log.info(counts, 'reconciliation schedulers synced');
  return counts;
}
