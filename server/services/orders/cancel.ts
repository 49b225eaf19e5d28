import { and, eq } from 'drizzle-orm';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import type { CancelOrderResult } from '#shared/schemas/brokers.ts';
import type { BrokerRegistry } from '../../brokers/registry.ts';
import type { Database } from '../../db/client.ts';
import { openConnectionAdapter } from '../brokers/connection-adapter.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { NotFound } from '../errors.ts';
import { cancelOrder } from '../execution/cancel-orders.ts';
import { loadOrder, type OrderJobDeps } from '../execution/submit-order.ts';

/** What the api process holds (AppDeps fits it), from which order verbs build the engine's OrderJobDeps. */
export interface OrderSources {
  database: { db: Database };
  /** The process's broker registry: the same breakers and pacing as every other broker call of the api. */
  brokers: BrokerRegistry;
  enqueueSubmit(orderIds: number[]): Promise<void>;
  enqueuePoll(orderId: number, poll: number, delayMs: number): Promise<void>;
}

export function orderJobDeps(sources: OrderSources): OrderJobDeps {
  return {
    db: sources.database.db,
    // A trader's ctx opens only their own live connections (connection-adapter.ts).
    adapterFor: async (ctx, connectionId) => (await openConnectionAdapter(ctx, sources.brokers, connectionId)).adapter,
    enqueueSubmit: sources.enqueueSubmit,
    enqueuePoll: sources.enqueuePoll,
  };
}

/**
 * brokers.cancelOrder: cancels one of the caller's orders through the engine (execution/cancel-orders.ts) and says
 * what happened. An order not yet sent is cancelled at once; one at the broker gets a cancel request, and its status
 * poller records the outcome (the broker may still fill it first: fills stay the truth). Another user's id is
 * NotFound, and nothing is sent.
 */
export async function cancelOwnOrder(
  ctx: ServiceContext,
  sources: OrderSources,
  id: number,
): Promise<CancelOrderResult> {
  const [owned] = await ctx.db
    .select({ id: brokerOrders.id })
    .from(brokerOrders)
    .where(and(eq(brokerOrders.id, id), eq(brokerOrders.userId, actingUserId(ctx))));
  if (!owned) throw new NotFound('Order');
  const deps = orderJobDeps(sources);
  const outcome = await cancelOrder(ctx, deps, id);
  const { status } = await loadOrder(deps.db, id);
  ctx.log.info({ orderId: id, outcome, status }, 'order cancel asked by its owner');
  return { id, outcome, status };
}
