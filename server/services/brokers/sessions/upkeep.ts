/**
 * One tick of a connection's session upkeep (the `session-<id>` scheduler): keep the session alive or notice that
 * it is gone, and when it goes or comes back, let the connection's other schedules follow.
 */
import { and, eq, ne } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import type { Broker, ConnectionStatus } from '#shared/enums.ts';
import type { BrokerRegistry } from '../../../brokers/registry.ts';
import { notDeleted } from '../../../db/soft-delete.ts';
import type { ServiceContext } from '../../context.ts';
import { type ReconcileSchedules, syncConnectionSchedule } from '../../reconcile/schedules.ts';
import { checkConnectionSession } from '../check-session.ts';
import { type SessionSchedules, syncConnectionSession } from './schedules.ts';

export interface SessionUpkeepDeps {
  registry: BrokerRegistry;
  sessionSchedules: SessionSchedules;
  /** The reconciliation schedulers: an expired connection is not reconciled (its broker cannot answer). */
  reconcileSchedules?: ReconcileSchedules;
}

/**
 * Whether a tick renews or only checks:
 * - IBKR: the gateway drops an idle session, so every tick is a /tickle (which reports the auth status, and restores
 *   a dropped brokerage session when no person is needed);
 * - Tradovate: the adapter renews the token on any call made within 15 min of its expiry, so a check renews exactly
 *   when due; forcing a renewal every tick would spend the hourly renewal budget (15) in a quarter of an hour;
 * - Alpaca: keys do not expire; a check reads the account and notices revoked keys.
 */
const RENEWS: Record<Broker, boolean> = { alpaca: false, tradovate: false, ibkr: true };

export type UpkeepResult =
  | { status: ConnectionStatus; changed: boolean }
  | { status: 'skipped'; reason: 'connection-gone' };

/**
 * Checks (or renews) the connection's session and records the outcome once (sessions/record-check.ts). A broker
 * outage throws BrokerUnavailable and changes nothing. A connection deleted or disconnected since its scheduler was
 * made loses the scheduler instead.
 */
export async function upkeepConnectionSession(
  ctx: ServiceContext,
  deps: SessionUpkeepDeps,
  connectionId: number,
): Promise<UpkeepResult> {
  const [row] = await ctx.db
    .select({ broker: brokerConnections.broker })
    .from(brokerConnections)
    .where(
      and(
        eq(brokerConnections.id, connectionId),
        notDeleted(brokerConnections),
        ne(brokerConnections.status, 'disconnected'),
      ),
    );
  if (!row) {
    await syncConnectionSession(ctx, deps.sessionSchedules, connectionId);
    return { status: 'skipped', reason: 'connection-gone' };
  }
  const check = await checkConnectionSession(ctx, deps.registry, connectionId, { renew: RENEWS[row.broker] });
  if (check.status === null) {
    await syncConnectionSession(ctx, deps.sessionSchedules, connectionId);
    return { status: 'skipped', reason: 'connection-gone' };
  }
  if (check.changed) {
    ctx.log.info({ connectionId, status: check.status, reason: check.reason }, 'broker session changed');
    // Reconciliation stops while the session is expired and resumes once it is back; an expired Tradovate
    // connection is checked less often (sessions/schedules.ts).
    await syncConnectionSchedule(ctx, deps.reconcileSchedules, connectionId);
    await syncConnectionSession(ctx, deps.sessionSchedules, connectionId);
  }
  return { status: check.status, changed: check.changed };
}
