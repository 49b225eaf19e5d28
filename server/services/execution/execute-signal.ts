/**
 * The signal engine (SPEC §5), run by the `signals` job of an accepted webhook log. In ONE transaction, with the
 * strategy row locked so signals of a strategy are planned one after the other: the log moves from `received` to
 * its outcome, and the orders it yields are written `pending` with client ids `fp-<id>`. Only after the commit are
 * submit jobs added (a lost add is found again by the outbox sweep), and cancellations sent to brokers.
 *
 * A run that finds its log `executing` is a re-run after a crash between commit and enqueue: it enqueues the log's
 * pending orders again (job ids make that harmless) instead of planning twice.
 */
import { and, eq } from 'drizzle-orm';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import { strategies } from '#drizzle/schema/strategies.ts';
import { users } from '#drizzle/schema/users.ts';
import { webhookLogs } from '#drizzle/schema/webhook_logs.ts';
import type { WebhookLogStatus } from '#shared/enums.ts';
import { type Signal, signalSchema } from '#shared/schemas/signal.ts';
import { BrokerUnavailable } from '../../brokers/errors.ts';
import type { Database } from '../../db/client.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { Transaction } from '../../db/transaction.ts';
import { tradingAllowed } from '../account/trading-allowed.ts';
import type { ServiceContext } from '../context.ts';
import { NotFound, Precondition } from '../errors.ts';
import { type AccountEquity, equityForRoutes } from './equity.ts';
import { planRoutes, type RouteOutcome } from './plan-routes.ts';
import { releasableOrderIds } from './release.ts';
import { loadRoutes } from './routes.ts';
import { recordSignalOutcome, type SignalOutcome } from './signal-outcome.ts';
import { closeApproval, stageSignal, takeApproval } from './staging.ts';
import type { AttemptInfo } from './submit-order.ts';

export interface ExecutionDeps {
  db: Database;
  /** Adds submit-order jobs (ids `order-<id>`) for orders ready to go; injected: services do not import server/jobs. */
  enqueueSubmit(orderIds: number[]): Promise<void>;
  /** Account equity per connection, for percent_of_equity sizing (through the broker registry and its breakers). */
  equity: AccountEquity;
  /** Sends cancellations of working orders after the commit (the `cancel` signal). */
  cancelOrders(ctx: ServiceContext, orderIds: number[]): Promise<void>;
}

export interface ExecuteResult {
  status: WebhookLogStatus;
  orderIds: number[];
}

export type StrategyRow = Awaited<ReturnType<typeof lockStrategy>>;

/**
 * Locks the strategy's row (signals of one strategy are decided one after the other) and reads its owner's trading
 * switches without a lock: locking the user row too would serialize every strategy of a trader, and make each insert
 * that references the user (trades, notifications) wait behind the signal.
 */
async function lockStrategy(tx: Transaction, strategyId: number) {
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
  const [owner] = await tx
    .select({ tradingEnabled: users.tradingEnabled, tradingLockedAt: users.tradingLockedAt })
    .from(users)
    .where(eq(users.id, strategy.userId));
  if (!owner) throw new NotFound('strategy owner');
  return { ...strategy, ...owner };
}

export async function executeSignal(
  ctx: ServiceContext,
  deps: ExecutionDeps,
  input: { webhookLogId: number },
  job?: AttemptInfo,
): Promise<ExecuteResult> {
  const log = await readLog(deps.db, input.webhookLogId);
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
  const sizing = await readSizing(deps.db, log.strategyId);
  let equity: Map<number, string>;
  try {
    equity = await equityForRoutes(ctx, deps.equity, signal, sizing, routes);
  } catch (error) {
    // The broker stayed unreachable for every attempt: the trader is told, rather than the log waiting forever.
    if (!(error instanceof BrokerUnavailable) || !job || job.attempt < job.attempts) throw error;
    return rejectUnreachable(deps, log, signal, error.message);
  }

  const result = await deps.db.transaction(async (tx) => {
    const strategy = await lockStrategy(tx, log.strategyId);
    const [current] = await tx
      .select({ status: webhookLogs.status })
      .from(webhookLogs)
      .where(eq(webhookLogs.id, log.id))
      .for('update');
    if (current?.status !== expected) return { status: current?.status ?? log.status, orderIds: [], cancels: [] };
    const outcome = await decide(tx, strategy, signal, routes, equity, log.id);
    if (outcome.kind === 'staged') return { status: 'staged' as const, orderIds: [], cancels: [] };
    const status = await recordSignalOutcome(tx, { log, strategy, signal, outcome: outcome.outcome });
    return { status, orderIds: outcome.orderIds, cancels: outcome.cancels };
  });

  if (result.cancels.length > 0) await deps.cancelOrders(ctx, result.cancels);
  if (result.orderIds.length > 0) {
    const ready = await releasableOrderIds(deps.db, result.orderIds);
    await deps.enqueueSubmit(ready).catch((err: unknown) => {
      ctx.log.warn({ err, orderIds: ready }, 'submit jobs not enqueued; the outbox sweep will enqueue them');
    });
  }
  return { status: result.status, orderIds: result.orderIds };
}

type Decision = { kind: 'staged' } | { kind: 'decided'; outcome: SignalOutcome; orderIds: number[]; cancels: number[] };

async function decide(
  tx: Transaction,
  strategy: StrategyRow,
  signal: Signal,
  routes: Awaited<ReturnType<typeof loadRoutes>>,
  equity: Map<number, string>,
  webhookLogId: number,
): Promise<Decision> {
  const refuse = (code: 'strategy-paused' | 'trading-disabled', message: string): Decision => ({
    kind: 'decided',
    outcome: { kind: 'rejected', code, message, routes: [] },
    orderIds: [],
    cancels: [],
  });
  // A trader's approval of this log's staged signal is consumed by whichever run decides it, so it never lingers
  // `approved` (the strategy may have been paused or switched to auto since).
  const approved = await takeApproval(tx, webhookLogId);
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
  const orderIds = outcomes.flatMap((o) => (o.kind === 'orders' ? o.orderIds : []));
  const cancels = outcomes.flatMap((o) => (o.kind === 'cancel' ? o.orderIds : o.kind === 'orders' ? o.cancels : []));
  return { kind: 'decided', outcome: { kind: 'routes', routes: outcomes }, orderIds, cancels };
}

async function rejectUnreachable(
  deps: ExecutionDeps,
  log: { id: number; strategyId: number },
  signal: Signal,
  reason: string,
): Promise<ExecuteResult> {
  return deps.db.transaction(async (tx) => {
    const strategy = await lockStrategy(tx, log.strategyId);
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

async function readSizing(db: Database, strategyId: number) {
  const [row] = await db
    .select({
      sizingType: strategies.sizingType,
      sizingValue: strategies.sizingValue,
      useSignalQuantity: strategies.useSignalQuantity,
    })
    .from(strategies)
    .where(eq(strategies.id, strategyId));
  if (!row) throw new NotFound('strategy');
  return row;
}

async function readLog(db: Database, webhookLogId: number) {
  const [log] = await db
    .select({
      id: webhookLogs.id,
      strategyId: webhookLogs.strategyId,
      status: webhookLogs.status,
      payload: webhookLogs.payload,
      source: webhookLogs.source,
    })
    .from(webhookLogs)
    .where(and(eq(webhookLogs.id, webhookLogId), notDeleted(webhookLogs)))
    .limit(1);
  if (!log) throw new NotFound('webhook log');
  return log;
}

/** A log left `executing` by a crash after its commit: enqueue what is still waiting to be submitted. */
async function resume(deps: ExecutionDeps, webhookLogId: number): Promise<ExecuteResult> {
  const orders = await deps.db
    .select({ id: brokerOrders.id })
    .from(brokerOrders)
    .where(and(eq(brokerOrders.webhookLogId, webhookLogId), eq(brokerOrders.status, 'pending')));
  const ids = orders.map((order) => order.id);
  const ready = await releasableOrderIds(deps.db, ids);
  if (ready.length > 0) await deps.enqueueSubmit(ready);
  return { status: 'executing', orderIds: ids };
}
