import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import { ownedConnection } from '../brokers/connections/view.ts';
import type { ServiceContext } from '../context.ts';
import { NotFound, ServiceUnavailable } from '../errors.ts';

/** The producer of on-demand runs (server/jobs/schedulers.ts), injected. */
export type EnqueueReconcile = (connectionId: number) => Promise<void>;

/**
 * brokers.reconcile: queues a run of one of the caller's connections. The run itself happens in the worker (it may
 * take many broker calls, longer than a request should); its result lands in brokers.getReconciliationRuns. A
 * request while an earlier one still waits joins it.
 */
export async function requestReconcile(
  ctx: ServiceContext,
  enqueueReconcile: EnqueueReconcile | undefined,
  connectionId: number,
): Promise<{ connectionId: number; queued: true }> {
  const [owned] = await ctx.db
    .select({ id: brokerConnections.id })
    .from(brokerConnections)
    .where(ownedConnection(ctx, connectionId));
  if (!owned) throw new NotFound('Broker connection');
  if (!enqueueReconcile) throw new ServiceUnavailable('Reconciliation is not available on this server');
  try {
    await enqueueReconcile(connectionId);
  } catch (err) {
    ctx.log.warn({ err, connectionId }, 'reconciliation run not queued');
    throw new ServiceUnavailable('The job queue is unavailable; the scheduled run will still happen');
  }
  return { connectionId, queued: true };
}
