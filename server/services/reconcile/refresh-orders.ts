/**
 * Reconciliation's pass over a connection's working orders: each is refreshed by the poller's own code
 * (refreshOrder), so a fill found here is recorded by the same idempotent path and counts exactly once, however the
 * poller and this pass interleave. It also catches the orders whose poll chain ended without an answer (a broker
 * session that expired mid-chain).
 */
import { TERMINAL_ORDER_STATUSES } from '#shared/enums.ts';
import type { ServiceContext } from '../context.ts';
import { nextPollDelayMs, refreshOrder } from '../execution/poll-order.ts';
import { canonical } from '../execution/position-math.ts';
import { loadOrder, type OrderJobDeps } from '../execution/submit-order.ts';

const TERMINAL = new Set<string>(TERMINAL_ORDER_STATUSES);

/**
 * Refreshes the orders (by id) that have reached the broker; returns the ids of those whose status or filled
 * quantity changed meanwhile. Broker errors propagate: the run cannot trust a partial picture.
 */
export async function refreshOrders(ctx: ServiceContext, deps: OrderJobDeps, orderIds: number[]): Promise<number[]> {
  const changed: number[] = [];
  for (const orderId of orderIds) {
    const before = await loadOrder(deps.db, orderId);
    // Final since it was listed (the poller got there first), or still with its submit job: nothing to ask.
    if (TERMINAL.has(before.status) || !before.brokerOrderId) continue;
    const refreshed = await refreshOrder(ctx, deps, before);
    // A bracket leg seen for the first time gets its own status polling, as when the poller finds it.
    for (const legId of refreshed.newLegIds) {
      await deps.enqueuePoll(legId, 0, nextPollDelayMs(0)).catch((err: unknown) => {
        ctx.log.warn({ err, orderId: legId }, 'bracket leg poll not enqueued; reconciliation keeps refreshing it');
      });
    }
    const after = await loadOrder(deps.db, orderId);
    if (after.status !== before.status || canonical(after.filledQty) !== canonical(before.filledQty)) {
      changed.push(orderId);
    }
  }
  return changed;
}
