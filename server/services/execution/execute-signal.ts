/**
 * The signal engine (SPEC §5), run by the `signals` job of an accepted webhook log. In ONE transaction, with the
 * strategy row locked so signals of a strategy are planned one after the other: the log moves from `received` to
 * its outcome, and the orders it yields are written `pending` with client ids `fp-<id>`. Only after the commit does
 * the job send them to the broker itself (send-order.ts; a failure there goes to the order's submit job, a crash to
 * the outbox sweep), and cancellations go out.
 *
 * A run that finds its log `executing` is a re-run after a crash after the commit: it hands the log's unfinished
 * orders to their jobs again (job ids make that harmless) instead of planning twice.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import { stagingTrades } from '#drizzle/schema/staging_trades.ts';
import { strategies } from '#drizzle/schema/strategies.ts';
import { users } from '#drizzle/schema/users.ts';
import { webhookLogs } from '#drizzle/schema/webhook_logs.ts';
import type { WebhookLogStatus } from '#shared/enums.ts';
import { type Signal, signalSchema } from '#shared/schemas/signal.ts';
import { BrokerUnavailable } from '../../brokers/errors.ts';
import type { BrokerAdapter } from '../../brokers/types.ts';
import type { Database } from '../../db/client.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { DbOrTx, Transaction } from '../../db/transaction.ts';
import { tradingAllowed } from '../account/trading-allowed.ts';
import type { ServiceContext } from '../context.ts';
import { NotFound, Precondition } from '../errors.ts';
import { type AccountEquity, equityForRoutes } from './equity.ts';
import { planRoutes, type RouteOutcome } from './plan-routes.ts';
import { releasableOrderIds } from './release.ts';
import { type ExecutionRoute, loadRoutes, WORKING_ORDER_STATUSES } from './routes.ts';
import { type SendDeps, sendNewOrders } from './send-order.ts';
import { recordSignalOutcome, type SignalOutcome } from './signal-outcome.ts';
import { closeApproval, stageSignal, takeApproval } from './staging.ts';
import type { AttemptInfo, OrderRow } from './submit-order.ts';

/** Job producers (submit, poll) are injected: services do not import server/jobs. */
export interface ExecutionDeps extends SendDeps {
  /** Account equity per connection, for percent_of_equity sizing (through the broker registry and its breakers). */
  equity: AccountEquity;
  /** The adapter of a route's connection, from the row the engine read (no second read of the connection). */
  adapterForRoute(route: ExecutionRoute): BrokerAdapter;
  /** Sends cancellations of working orders after the commit (the `cancel` signal). */
  cancelOrders(ctx: ServiceContext, orderIds: number[]): Promise<void>;
}

export interface ExecuteResult {
  status: WebhookLogStatus;
  orderIds: number[];
}

export type StrategyRow = Awaited<ReturnType<typeof lockStrategy>>;

/** The owner's trading switches (account kill switch), read without a lock. */
interface OwnerSwitches {
  tradingEnabled: boolean;
  tradingLockedAt: Date | null;
}

/**
 * Locks the strategy's row (signals of one strategy are decided one after the other). Its owner's trading switches
 * are read without a lock: locking the user row too would serialize every strategy of a trader, and make each
 * insert that references the user (trades, notifications) wait behind the signal.
 */
async function lockStrategy(tx: Transaction, strategyId: number, owner: OwnerSwitches) {
  const [strategy] = await tx
    .select({
      id: strategies.id,
      userId: strategies.userId,
      name: strategies.name,
      isActive: strategies.isActive,
      deletedAt: strategies.deletedAt,
      executionMode: strategies.executionMode,
      sizingType: strategies.sizingType,
      sizingValue: strategies.sizingValue,
      useSignalQuantity: strategies.useSignalQuantity,
      allowShort: strategies.allowShort,
      allowReverse: strategies.allowReverse,
      maxPositionQty: strategies.maxPositionQty,
      defaultOrderType: strategies.defaultOrderType,
      defaultTif: strategies.defaultTif,
      liveEnabledAt: strategies.liveEnabledAt,
    })
    .from(strategies)
    .where(eq(strategies.id, strategyId))
    .for('update');
  if (!strategy) throw new NotFound('strategy');
  return { ...strategy, ...owner };
}

async function readOwnerSwitches(db: DbOrTx, userId: number): Promise<OwnerSwitches> {
  const [owner] = await db
    .select({ tradingEnabled: users.tradingEnabled, tradingLockedAt: users.tradingLockedAt })
    .from(users)
    .where(eq(users.id, userId));
  if (!owner) throw new NotFound('strategy owner');
  return owner;
}

export async function executeSignal(
  ctx: ServiceContext,
  deps: ExecutionDeps,
  input: { webhookLogId: number },
  job?: AttemptInfo,
): Promise<ExecuteResult> {
  const log = await readSignalLog(deps.db, input.webhookLogId);
  const expected: WebhookLogStatus = 'received';
  if (log.status === 'executing') return resume(deps, log.id);
  if (log.status !== expected) return { status: log.status, orderIds: [] };
  const parsed = signalSchema.safeParse(log.payload);
  if (!parsed.success) {
    await deps.db
      .update(webhookLogs)
      .set({ status: 'failed', errorCode: 'malformed-payload', errorMessage: 'The stored signal is not executable' })
      .where(and(eq(webhookLogs.id, log.id), eq(webhookLogs.status, expected)));
    throw new Precondition('webhook log holds no executable signal');
  }
  const signal = parsed.data;
  // Broker calls happen before the transaction, never while it holds the strategy's lock.
  const routes = await loadRoutes(deps.db, log.strategyId);
  let equity: Map<number, string>;
  try {
    equity = await equityForRoutes(ctx, deps.equity, signal, log.sizing, routes);
  } catch (error) {
    // The broker stayed unreachable for every attempt: the trader is told, rather than the log waiting forever.
    if (!(error instanceof BrokerUnavailable) || !job || job.attempt < job.attempts) throw error;
    return rejectUnreachable(deps, log, signal, error.message);
  }

  const result = await deps.db.transaction(async (tx) => {
    // Switches read before a broker call (equity) are read again: the trader may have stopped trading meanwhile.
    const owner = equity.size > 0 ? await readOwnerSwitches(tx, log.userId) : log.owner;
    const strategy = await lockStrategy(tx, log.strategyId, owner);
    const [current] = await tx
      .select({ status: webhookLogs.status })
      .from(webhookLogs)
      .where(eq(webhookLogs.id, log.id))
      .for('update');
    const nothing = { orderIds: [], orders: [], cancels: [] };
    if (current?.status !== expected) return { status: current?.status ?? log.status, ...nothing };
    const outcome = await decide(tx, strategy, signal, routes, equity, log);
    if (outcome.kind === 'staged') return { status: 'staged' as const, ...nothing };
    const status = await recordSignalOutcome(tx, { log, strategy, signal, outcome: outcome.outcome });
    return {
      status,
      orderIds: outcome.orders.map((order) => order.id),
      orders: outcome.orders,
      cancels: outcome.cancels,
    };
  });

  if (result.cancels.length > 0) await deps.cancelOrders(ctx, result.cancels);
  if (result.orders.length > 0) await sendNewOrders(ctx, withRouteAdapters(deps, routes), result.orders);
  return { status: result.status, orderIds: result.orderIds };
}

/** The signal's orders go out through the connections its routes read, before the transaction. */
function withRouteAdapters(deps: ExecutionDeps, routes: ExecutionRoute[]): ExecutionDeps {
  return {
    ...deps,
    adapterFor: async (ctx, connectionId) => {
      const route = routes.find((candidate) => candidate.connectionId === connectionId);
      return route ? deps.adapterForRoute(route) : deps.adapterFor(ctx, connectionId);
    },
  };
}

type Decision = { kind: 'staged' } | { kind: 'decided'; outcome: SignalOutcome; orders: OrderRow[]; cancels: number[] };

async function decide(
  tx: Transaction,
  strategy: StrategyRow,
  signal: Signal,
  routes: ExecutionRoute[],
  equity: Map<number, string>,
  log: { id: number; approvalWaiting: boolean },
): Promise<Decision> {
  const webhookLogId = log.id;
  const refuse = (code: 'strategy-paused' | 'trading-disabled', message: string): Decision => ({
    kind: 'decided',
    outcome: { kind: 'rejected', code, message, routes: [] },
    orders: [],
    cancels: [],
  });
  // A trader's approval of this log's staged signal is consumed by whichever run decides it, so it never lingers
  // `approved` (the strategy may have been paused or switched to auto since).
  // (Only a log whose approval was committed before this run read it can have one: the same transaction that
  // approves puts the log back to `received`.)
  const approved = log.approvalWaiting && (await takeApproval(tx, webhookLogId));
  const refusal =
    !strategy.isActive || strategy.deletedAt
      ? refuse('strategy-paused', 'The strategy was paused before this alert executed')
      : !tradingAllowed(strategy)
        ? refuse('trading-disabled', 'Trading is switched off for this account, so no order was placed')
        : undefined;
  if (refusal) {
    if (approved)
      await closeApproval(
        tx,
        webhookLogId,
        'rejected',
        'Not executed: the strategy or account stopped trading after the approval',
      );
    return refusal;
  }
  // Manual mode: the first run stages the signal; the run after the trader approved it executes it.
  if (strategy.executionMode === 'manual' && !approved) {
    await stageSignal(tx, { strategy, signal, webhookLogId });
    return { kind: 'staged' };
  }
  const outcomes: RouteOutcome[] = await planRoutes(tx, { strategy, signal, routes, equity, webhookLogId });
  const orders = outcomes.flatMap((o) => (o.kind === 'orders' ? o.rows : []));
  const cancels = outcomes.flatMap((o) => (o.kind === 'cancel' ? o.orderIds : o.kind === 'orders' ? o.cancels : []));
  return { kind: 'decided', outcome: { kind: 'routes', routes: outcomes }, orders, cancels };
}

async function rejectUnreachable(
  deps: ExecutionDeps,
  log: SignalLog,
  signal: Signal,
  reason: string,
): Promise<ExecuteResult> {
  return deps.db.transaction(async (tx) => {
    const strategy = await lockStrategy(tx, log.strategyId, await readOwnerSwitches(tx, log.userId));
    const [current] = await tx
      .select({ status: webhookLogs.status })
      .from(webhookLogs)
      .where(eq(webhookLogs.id, log.id))
      .for('update');
    if (current?.status !== 'received') return { status: current?.status ?? 'received', orderIds: [] };
    const message = `The broker could not be reached to size this signal (account equity): ${reason}`;
    const outcome = { kind: 'rejected' as const, code: 'broker-unavailable' as const, message, routes: [] as [] };
    return { status: await recordSignalOutcome(tx, { log, strategy, signal, outcome }), orderIds: [] };
  });
}

type SignalLog = Awaited<ReturnType<typeof readSignalLog>>;

/**
 * The log with what the engine needs before its transaction, in one read: the strategy's sizing (for the equity
 * decision), its owner's trading switches, and whether an approval of this log's staged signal waits.
 */
async function readSignalLog(db: Database, webhookLogId: number) {
  const [row] = await db
    .select({
      id: webhookLogs.id,
      strategyId: webhookLogs.strategyId,
      status: webhookLogs.status,
      payload: webhookLogs.payload,
      source: webhookLogs.source,
      userId: strategies.userId,
      sizingType: strategies.sizingType,
      sizingValue: strategies.sizingValue,
      useSignalQuantity: strategies.useSignalQuantity,
      tradingEnabled: users.tradingEnabled,
      tradingLockedAt: users.tradingLockedAt,
      approvalWaiting: sql<number>`EXISTS (SELECT 1 FROM ${stagingTrades} WHERE ${stagingTrades.webhookLogId} = ${webhookLogs.id} AND ${stagingTrades.status} = 'approved')`,
    })
    .from(webhookLogs)
    .innerJoin(strategies, eq(strategies.id, webhookLogs.strategyId))
    .innerJoin(users, eq(users.id, strategies.userId))
    .where(and(eq(webhookLogs.id, webhookLogId), notDeleted(webhookLogs)))
    .limit(1);
  if (!row) throw new NotFound('webhook log');
  const { sizingType, sizingValue, useSignalQuantity, tradingEnabled, tradingLockedAt, approvalWaiting, ...log } = row;
  return {
    ...log,
    sizing: { sizingType, sizingValue, useSignalQuantity },
    owner: { tradingEnabled, tradingLockedAt },
    approvalWaiting: Number(approvalWaiting) === 1,
  };
}

/**
 * A log left `executing` by a crash after its commit: its orders are taken up again, each by the job that follows
 * it from where it stands (job ids make each add a no-op when that job exists): a submit job for those not yet at
 * the broker (one caught mid-submission looks itself up by client id first), the poll chain for those placed.
 */
async function resume(deps: ExecutionDeps, webhookLogId: number): Promise<ExecuteResult> {
  const orders = await deps.db
    .select({ id: brokerOrders.id, status: brokerOrders.status })
    .from(brokerOrders)
    .where(and(eq(brokerOrders.webhookLogId, webhookLogId), inArray(brokerOrders.status, [...WORKING_ORDER_STATUSES])));
  const idsIn = (status: string) => orders.filter((order) => order.status === status).map((order) => order.id);
  // A `submitting` order was claimed, so it was ready; a `pending` one may still wait for its parent.
  const ready = [...idsIn('submitting'), ...(await releasableOrderIds(deps.db, idsIn('pending')))];
  if (ready.length > 0) await deps.enqueueSubmit(ready);
  for (const order of orders) {
    if (order.status !== 'pending' && order.status !== 'submitting') await deps.enqueuePoll(order.id, 0, 0);
  }
  return { status: 'executing', orderIds: orders.map((order) => order.id) };
}
