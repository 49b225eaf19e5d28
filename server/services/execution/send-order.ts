/**
 * Sending orders and following them to the broker's first word, in the job that has them in hand. The signal job
 * sends the orders it just committed itself (sendNewOrders): no submit job and no first poll job on the common path,
 * which is what keeps a signal to one job end to end. Whatever goes wrong there is handed to the order's submit job
 * (`order-<id>`), which retries with backoff and looks the order up by client id before sending it again.
 */
import { BrokerRejected } from '../../brokers/errors.ts';
import { observeSignalToOrder } from '../../lib/metrics.ts';
import type { ServiceContext } from '../context.ts';
import { finishOrder } from './finish-order.ts';
import { followPlaced } from './poll-order.ts';
import { type AttemptInfo, loadOrder, type OrderJobDeps, type OrderRow, placeOrder } from './submit-order.ts';

export interface SendDeps extends OrderJobDeps {
  /**
   * Hands an order whose inline submission failed to its submit job: first run after the orders queue's first
   * backoff, with one attempt fewer, so the order gets the queue's attempts in all.
   */
  retrySubmit(orderId: number): Promise<void>;
}

/** Placed and still working at the broker: followed by the status poller. */
const AT_BROKER = new Set<string>(['submitted', 'accepted', 'partially_filled']);

/** The `orders` job: a retry of a failed inline submission, a released reversal leg, a sweep or a replay. */
export async function submitOrder(
  ctx: ServiceContext,
  deps: OrderJobDeps,
  input: { orderId: number },
  job: AttemptInfo,
): Promise<{ status: string }> {
  const order = await loadOrder(deps.db, input.orderId);
  if (AT_BROKER.has(order.status)) {
    // A re-run after a crash between storing the broker's answer and its first look: start the poll chain (its
    // job id makes this a no-op when the chain exists).
    await deps.enqueuePoll(order.id, 0, 0);
    return { status: order.status };
  }
  if (order.status !== 'pending' && order.status !== 'submitting') return { status: order.status };
  const placement = await placeOrder(ctx, deps, order, job);
  if (!placement.placed) return { status: placement.status };
  return followPlaced(ctx, deps, order, placement);
}

/**
 * The signal job's own orders, right after their commit, all at once. An order with a parent waits for it (a
 * reversal's opening leg goes when its closing leg fills). Never throws for one order's failure: a rejection ends
 * that order here (the trader is told), anything else hands it to its submit job, and a failed hand-over leaves
 * it to the order outbox sweep.
 */
export async function sendNewOrders(ctx: ServiceContext, deps: SendDeps, orders: OrderRow[]): Promise<void> {
  const ready = orders.filter((order) => order.status === 'pending' && order.parentOrderId === null);
  await Promise.all(ready.map((order) => sendNewOrder(ctx, deps, order)));
}

async function sendNewOrder(ctx: ServiceContext, deps: SendDeps, order: OrderRow): Promise<void> {
  let placement: Awaited<ReturnType<typeof placeOrder>>;
  try {
    placement = await placeOrder(ctx, deps, order, null);
  } catch (error) {
    if (error instanceof BrokerRejected) {
      await finishOrder(ctx, deps, order.id, { status: 'rejected', reason: error.message });
      return;
    }
    ctx.log.warn({ err: error, orderId: order.id }, 'order not placed at once; its submit job retries it');
    await handOver(ctx, deps, order.id);
    return;
  }
  if (!placement.placed) return;
  observeSignalToOrder(ctx);
  try {
    await followPlaced(ctx, deps, order, placement);
  } catch (error) {
    // Placed and stored: the poll chain takes it from here (poll 0 starts it; its job id adds it once).
    ctx.log.warn({ err: error, orderId: order.id }, 'first look at a placed order failed; polling follows it');
    await deps.enqueuePoll(order.id, 0, 0).catch((err: unknown) => {
      ctx.log.warn({ err, orderId: order.id }, 'poll not enqueued; reconciliation refreshes the order');
    });
  }
}

async function handOver(ctx: ServiceContext, deps: SendDeps, orderId: number): Promise<void> {
  await deps.retrySubmit(orderId).catch((err: unknown) => {
    ctx.log.warn({ err, orderId }, 'submit job not enqueued; the order outbox sweep re-sends it');
  });
}
