/**
 * Submits one order to its broker (send-order.ts: the signal job for its new orders, the `orders` job, id
 * `order-<id>`, for retries and released legs), never twice (SPEC §5, BROKERS.md §5): the
 * row is claimed `submitting` and its attempt counted before the broker is called, and any attempt after the first
 * (a retry, a crash, a replayed dead letter) first asks the broker for the client id `fp-<id>`, submitting only an
 * order the broker does not know.
 *
 * Outcomes: accepted → broker id and status stored, polling starts; rejected → `rejected`, final, trader told;
 * unavailable (timeout, 5xx, 429, open breaker) → the job retries with backoff and, after its last attempt, the
 * order is `failed` and the job becomes a dead letter; an expired session → `failed` at once.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import { BrokerAuthExpired, BrokerRejected } from '../../brokers/errors.ts';
import { submitOnce } from '../../brokers/resilience.ts';
import type { BrokerAdapter, BrokerOrder, OrderRequest } from '../../brokers/types.ts';
import type { Database } from '../../db/client.ts';
import { ServiceError } from '../../lib/service-error.ts';
import type { ServiceContext } from '../context.ts';
import { NotFound } from '../errors.ts';
import { publishOrderUpdate } from '../events/publish.ts';
import { finishOrder } from './finish-order.ts';
import { canonical } from './position-math.ts';

export interface OrderJobDeps {
  db: Database;
  /** The connection's guarded adapter (registry + breaker + pacing). */
  adapterFor(ctx: ServiceContext, connectionId: number): Promise<BrokerAdapter>;
  enqueueSubmit(orderIds: number[]): Promise<void>;
  /** Adds the order's next status poll (job id `status-<orderId>-<poll>`), `delayMs` from now. */
  enqueuePoll(orderId: number, poll: number, delayMs: number): Promise<void>;
}

/** A job's attempt number and how many it has, so the last attempt can close the order. */
export interface AttemptInfo {
  attempt: number;
  attempts: number;
}

export type OrderRow = typeof brokerOrders.$inferSelect;

export async function loadOrder(db: Database, orderId: number): Promise<OrderRow> {
  const [order] = await db.select().from(brokerOrders).where(eq(brokerOrders.id, orderId));
  if (!order) throw new NotFound('order');
  return order;
}

function orderRequest(order: OrderRow): OrderRequest {
  const price = (value: string | null) => (value === null ? undefined : canonical(value));
  const takeProfit = price(order.takeProfitPrice);
  const stopLoss = price(order.stopLossPrice);
  return {
    clientOrderId: order.clientOrderId ?? `fp-${order.id}`,
    symbol: order.brokerSymbol,
    side: order.side,
    quantity: canonical(order.quantity),
    orderType: order.orderType,
    timeInForce: order.tif,
    ...(price(order.limitPrice) ? { limitPrice: price(order.limitPrice) } : {}),
    ...(price(order.stopPrice) ? { stopPrice: price(order.stopPrice) } : {}),
    ...(takeProfit ? { takeProfit: { limitPrice: takeProfit } } : {}),
    ...(stopLoss ? { stopLoss: { stopPrice: stopLoss } } : {}),
  };
}

/** What one submission did: the broker's answer when it has the order, else the order's status (nothing placed). */
export type Placement =
  | { placed: true; status: string; answer: BrokerOrder; adapter: BrokerAdapter }
  | { placed: false; status: string };

/**
 * Claims the order (`submitting`, attempt counted), submits it once and stores the broker's id and status. With a
 * job, a failure is handled as that job's attempt (retry, or the order's end on the last one); without one (the
 * signal job sending its orders itself) the error is thrown to the caller, which hands the order to a submit job.
 */
export async function placeOrder(
  ctx: ServiceContext,
  deps: OrderJobDeps,
  order: OrderRow,
  job: AttemptInfo | null,
): Promise<Placement> {
  const [claim] = await deps.db
    .update(brokerOrders)
    .set({ status: 'submitting', attempts: sql`${brokerOrders.attempts} + 1` })
    .where(and(eq(brokerOrders.id, order.id), inArray(brokerOrders.status, ['pending', 'submitting'])));
  if (claim.affectedRows !== 1) return { placed: false, status: 'claimed-elsewhere' };

  let adapter: BrokerAdapter;
  let answer: BrokerOrder;
  try {
    adapter = await deps.adapterFor(ctx, order.brokerConnectionId);
    answer = await submitOnce(adapter, orderRequest(order), { isRetry: order.attempts > 0 });
  } catch (error) {
    if (job === null) throw error;
    return { placed: false, ...(await handleSubmitError(ctx, deps, order, job, error)) };
  }
  await deps.db
    .update(brokerOrders)
    .set({
      brokerOrderId: answer.brokerOrderId,
      brokerStatus: answer.brokerStatus,
      status: statusAfterSubmit(answer.status),
      submittedAt: answer.submittedAt ?? new Date(),
      lastError: null,
    })
    .where(and(eq(brokerOrders.id, order.id), eq(brokerOrders.status, 'submitting')));
  publishOrderUpdate({ ...order, status: statusAfterSubmit(answer.status) });
  return { placed: true, status: answer.status, answer, adapter };
}

/**
 * What the row says once the broker has the order. Never a final status: the answer (or the order a retry found by
 * its client id) may already read `filled`, and fills, the final status and what follows them are the poller's. A
 * row marked filled here would never be polled, its fills never recorded, its log never settled.
 */
function statusAfterSubmit(status: BrokerOrder['status']): 'submitted' | 'accepted' {
  return status === 'pending' || status === 'submitted' ? 'submitted' : 'accepted';
}

export async function handleSubmitError(
  ctx: ServiceContext,
  deps: OrderJobDeps,
  order: OrderRow,
  job: AttemptInfo,
  error: unknown,
): Promise<{ status: string }> {
  if (error instanceof BrokerRejected) {
    await finishOrder(ctx, deps, order.id, { status: 'rejected', reason: error.message });
    return { status: 'rejected' };
  }
  const lastAttempt = job.attempt >= job.attempts;
  const expired = error instanceof BrokerAuthExpired;
  const message = error instanceof Error ? error.message : String(error);
  if (expired || lastAttempt) {
    const code = error instanceof ServiceError ? error.code : 'internal-error';
    await finishOrder(ctx, deps, order.id, { status: 'failed', reason: `${code}: ${message}` });
  } else {
    await deps.db
      .update(brokerOrders)
      .set({ lastError: message.slice(0, 1000) })
      .where(eq(brokerOrders.id, order.id));
  }
  // Rethrown: the runner retries what is retryable and turns the last failure into a dead letter.
  throw error;
}
