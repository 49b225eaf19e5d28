import type { Logger } from '../../lib/logger.ts';
import { pollOrder } from '../../services/execution/poll-order.ts';
import { submitOrder } from '../../services/execution/send-order.ts';
import { orderStatusQueue } from '../queues/order-status.ts';
import { ordersQueue } from '../queues/orders.ts';
import { defineProcessor } from '../run-processor.ts';
import { type ExecutionSources, executionDeps } from './execution-deps.ts';

/** Submits one order (job id `order-<id>`); its last failed attempt leaves the order `failed` and a dead letter. */
export function ordersProcessor(sources: ExecutionSources & { log: Logger }) {
  const deps = executionDeps(sources);
  return defineProcessor(
    ordersQueue,
    { db: sources.database.db, log: sources.log },
    {
      'submit-order': (ctx, payload) => submitOrder(ctx, deps, payload, ctx.job),
    },
  );
}

/** One status poll of an order (job id `status-<id>-<poll>`), which schedules the next until the order is final. */
export function orderStatusProcessor(sources: ExecutionSources & { log: Logger }) {
  const deps = executionDeps(sources);
  return defineProcessor(
    orderStatusQueue,
    { db: sources.database.db, log: sources.log },
    {
      'poll-order-status': (ctx, payload) => pollOrder(ctx, deps, payload),
    },
  );
}
