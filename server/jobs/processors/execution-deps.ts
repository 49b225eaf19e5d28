/**
 * What the execution services need from the worker, built once: the database, the broker registry (one guarded
 * adapter per connection, breakers and pacing shared by every job of this process) and the producers of the next
 * jobs (submit, submit retry, poll). Services get these injected: they never import server/jobs.
 */
import type { BrokerRegistry } from '../../brokers/registry.ts';
import type { DatabaseHandle } from '../../db/client.ts';
import { adapterForConnection, openConnectionAdapter } from '../../services/brokers/connection-adapter.ts';
import { cancelOrders } from '../../services/execution/cancel-orders.ts';
import type { ExecutionDeps } from '../../services/execution/execute-signal.ts';
import type { OrderJobDeps } from '../../services/execution/submit-order.ts';
import { enqueuePoll, enqueueSubmitRetry, enqueueSubmits } from '../enqueue.ts';
import type { Queues } from '../queue-factory.ts';

export interface ExecutionSources {
  database: DatabaseHandle;
  registry: BrokerRegistry;
  queues: Pick<Queues, 'orders' | 'order-status'>;
}

export function executionDeps(sources: ExecutionSources): ExecutionDeps {
  const orderDeps: OrderJobDeps = {
    db: sources.database.db,
    adapterFor: async (ctx, connectionId) => (await openConnectionAdapter(ctx, sources.registry, connectionId)).adapter,
    enqueueSubmit: (orderIds) => enqueueSubmits(sources.queues, orderIds),
    enqueuePoll: (orderId, poll, delayMs) => enqueuePoll(sources.queues, orderId, poll, delayMs),
  };
  return {
    ...orderDeps,
    equity: {
      equityOf: async (ctx, connectionId) =>
        (await (await orderDeps.adapterFor(ctx, connectionId)).getAccount()).equity,
    },
    retrySubmit: (orderId) => enqueueSubmitRetry(sources.queues, orderId),
    adapterForRoute: (route) =>
      adapterForConnection(sources.registry, {
        id: route.connectionId,
        broker: route.broker,
        environment: route.environment,
        credentialsEnc: route.credentialsEnc,
      }),
    cancelOrders: (ctx, orderIds) => cancelOrders(ctx, orderDeps, orderIds),
  };
}
