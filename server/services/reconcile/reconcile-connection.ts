/**
 * reconcileConnection (SPEC §7): one reconciliation run of a broker connection, scheduled every
 * RECONCILE_INTERVAL_S and on demand. It refreshes every working order (fills found are applied exactly once), asks
 * the broker for its positions and open orders through the connection's breaker, compares them with the sum of the
 * strategies' positions per symbol and records a reconciliation_runs row with the differences, alerting the owner
 * once per distinct mismatch. A difference seen first is looked at once more after refreshing its symbol's orders
 * again: a fill that landed at the broker between the refresh and the positions call is not a mismatch.
 * A broker that cannot answer makes an `error` run, not a failed job: the next scheduled run is the retry.
 * While it works the run keeps its heartbeat, so the next claim can tell a slow run from one whose worker died.
 */
import { BrokerAuthExpired, BrokerRejected, BrokerUnavailable } from '../../brokers/errors.ts';
import type { BrokerAdapter } from '../../brokers/types.ts';
import type { ServiceContext } from '../context.ts';
import { NotFound } from '../errors.ts';
import type { OrderJobDeps } from '../execution/submit-order.ts';
import { noteBrokerMarks } from '../portfolio/invalidation.ts';
import { comparePositions, type RunDiscrepancy, symbolKey } from './compare.ts';
import { holdingsOf, knownBrokerOrderIds, ordersByIds, workingOrdersOf } from './local-books.ts';
import { refreshOrders } from './refresh-orders.ts';
import { whileBeating } from './run-heartbeat.ts';
import {
  claimRun,
  failRun,
  finishRun,
  RUN_INTERRUPTED,
  RUN_LIVENESS,
  type RunLiveness,
  type RunOutcome,
} from './runs.ts';
import type { ReconcileSchedules } from './schedules.ts';

export interface ReconcileDeps extends OrderJobDeps {
  /** Removes the scheduler of a connection that no longer exists; absent where no scheduler can exist. */
  schedules?: ReconcileSchedules;
  now?: () => Date;
  /** Heartbeat and stale threshold of runs; RUN_LIVENESS unless a test shortens them. */
  liveness?: RunLiveness;
}

export type ReconcileResult =
  | { status: 'ok' | 'mismatch'; runId: number; discrepancies: number; ordersUpdated: number; notified: boolean }
  | { status: 'error'; runId: number; error: string }
  | { status: 'skipped'; reason: 'connection-gone' | 'already-running' };

export async function reconcileConnection(
  ctx: ServiceContext,
  deps: ReconcileDeps,
  connectionId: number,
): Promise<ReconcileResult> {
  const now = deps.now ?? (() => new Date());
  const liveness = deps.liveness ?? RUN_LIVENESS;
  const claim = await claimRun(deps.db, connectionId, now(), liveness.staleAfterMs);
  if (claim.kind === 'gone') {
    // Its scheduler outlived it (a crash, Redis away at disconnect): this run is the one that notices.
    await deps.schedules?.remove(connectionId).catch((err: unknown) => {
      ctx.log.warn({ err, connectionId }, 'scheduler of a removed connection not removed; the periodic sync will');
    });
    return { status: 'skipped', reason: 'connection-gone' };
  }
  if (claim.kind === 'busy') return { status: 'skipped', reason: 'already-running' };

  const run = { runId: claim.runId, connection: claim.connection };
  try {
    const outcome = await whileBeating(ctx, deps.db, run.runId, liveness.heartbeatMs, () =>
      inspect(ctx, deps, connectionId),
    );
    const { discrepancies, ordersUpdated } = outcome;
    const { recorded, notified } = await finishRun(deps.db, run, outcome, now());
    if (!recorded) {
      ctx.log.warn({ connectionId, runId: run.runId }, 'reconciliation run closed as interrupted before it finished');
      return { status: 'error', runId: run.runId, error: RUN_INTERRUPTED };
    }
    const status = discrepancies.length > 0 ? 'mismatch' : 'ok';
    ctx.log.info(
      { connectionId, runId: run.runId, status, discrepancies: discrepancies.length, ordersUpdated },
      'reconciliation run finished',
    );
    return { status, runId: run.runId, discrepancies: discrepancies.length, ordersUpdated, notified };
  } catch (error) {
    const reason = brokerReason(error);
    await failRun(deps.db, run.runId, reason ?? 'The run failed unexpectedly', now());
    if (reason === null) throw error; // unexpected: the job logs it and retries
    ctx.log.warn({ connectionId, runId: run.runId, reason }, 'reconciliation run could not compare');
    return { status: 'error', runId: run.runId, error: reason };
  }
}

/** Refreshes the working orders, then compares, looking again at the symbols that differ. */
async function inspect(ctx: ServiceContext, deps: ReconcileDeps, connectionId: number): Promise<RunOutcome> {
  const adapter = await deps.adapterFor(ctx, connectionId);
  const working = await workingOrdersOf(deps.db, connectionId);
  const changed = new Set(await refreshOrders(ctx, deps, ids(working)));
  let discrepancies = await compare(deps, adapter, connectionId, changed);
  if (discrepancies.length > 0) {
    const keys = new Set(discrepancies.map((d) => symbolKey(d.symbol)));
    const again = (await workingOrdersOf(deps.db, connectionId)).filter((o) => keys.has(symbolKey(o.brokerSymbol)));
    for (const id of await refreshOrders(ctx, deps, ids(again))) changed.add(id);
    discrepancies = await compare(deps, adapter, connectionId, changed);
  }
  return { discrepancies, ordersUpdated: changed.size };
}

/** One look at both sides, after the refresh. */
async function compare(
  deps: ReconcileDeps,
  adapter: BrokerAdapter,
  connectionId: number,
  changed: Set<number>,
): Promise<RunDiscrepancy[]> {
  const brokerPositions = await adapter.getPositions();
  // The broker's market prices value the trader's open positions (portfolio unrealized P&L).
  noteBrokerMarks(connectionId, brokerPositions);
  const brokerOpenOrders = await adapter.getOpenOrders();
  const holdings = await holdingsOf(deps.db, connectionId);
  const working = await workingOrdersOf(deps.db, connectionId);
  const workingIds = new Set(ids(working));
  const involvedOrders = [
    ...working,
    ...(await ordersByIds(
      deps.db,
      [...changed].filter((id) => !workingIds.has(id)),
    )),
  ];
  const known = await knownBrokerOrderIds(
    deps.db,
    connectionId,
    brokerOpenOrders.map((order) => order.brokerOrderId),
  );
  return comparePositions({ brokerPositions, brokerOpenOrders, holdings, involvedOrders, knownBrokerOrderIds: known });
}

function ids(orders: { id: number }[]): number[] {
  return orders.map((order) => order.id);
}

/** What a run records for a failure a later run may not have; null for an unexpected error. */
function brokerReason(error: unknown): string | null {
  if (error instanceof BrokerAuthExpired) return `The broker session has expired: ${error.message}`;
  if (error instanceof BrokerUnavailable || error instanceof BrokerRejected) return error.message;
  if (error instanceof NotFound) return 'The connection was removed during the run';
  return null;
}
