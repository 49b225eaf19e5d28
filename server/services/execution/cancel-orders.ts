/**
 * Cancels working orders (the `cancel` signal, brokers.cancelOrder). An order not yet sent is cancelled here; one at
 * the broker gets a cancel request, and its status poller records the outcome (the broker may still fill it
 * meanwhile: fills stay the truth). An order being submitted right now cannot be cancelled safely until the broker
 * has answered, so it is reported back instead of guessed at.
 */
import type { ServiceContext } from '../context.ts';
import { finishOrder } from './finish-order.ts';
import { loadOrder, type OrderJobDeps } from './submit-order.ts';

export type CancelResult = 'cancelled' | 'cancel-requested' | 'being-submitted' | 'already-final';

export async function cancelOrder(ctx: ServiceContext, deps: OrderJobDeps, orderId: number): Promise<CancelResult> {
  const order = await loadOrder(deps.db, orderId);
  if (order.status === 'pending') {
    const reason = 'Cancelled before it was sent to the broker';
    const ended = await finishOrder(ctx, deps, order.id, { status: 'cancelled', reason, onlyFrom: ['pending'] });
    // Lost the race to a submit job that just claimed it: it is on its way to the broker now.
    return ended ? 'cancelled' : 'being-submitted';
  }
  if (order.status === 'submitting') return 'being-submitted';
  if (!order.brokerOrderId) return 'already-final';
  if (!['submitted', 'accepted', 'partially_filled'].includes(order.status)) return 'already-final';
  const adapter = await deps.adapterFor(ctx, order.brokerConnectionId);
  await adapter.cancelOrder(order.brokerOrderId);
  return 'cancel-requested';
}

/** cancelOrder for each id; one order's broker failure is logged and does not stop the others. */
export async function cancelOrders(ctx: ServiceContext, deps: OrderJobDeps, orderIds: number[]): Promise<void> {
  for (const orderId of orderIds) {
    try {
      const result = await cancelOrder(ctx, deps, orderId);
      ctx.log.info({ orderId, result }, 'order cancel');
    } catch (err) {
      ctx.log.warn({ err, orderId }, 'order cancel failed');
    }
  }
}
