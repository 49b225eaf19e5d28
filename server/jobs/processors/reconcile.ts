import type { Logger } from '../../lib/logger.ts';
import { reconcileConnection } from '../../services/reconcile/reconcile-connection.ts';
import type { RunLiveness } from '../../services/reconcile/runs.ts';
import { syncReconcileSchedules } from '../../services/reconcile/schedules.ts';
import type { Queues } from '../queue-factory.ts';
import { reconcileQueue } from '../queues/reconcile.ts';
import { defineProcessor } from '../run-processor.ts';
import { reconcileSchedules } from '../schedulers.ts';
import { type ExecutionSources, executionDeps } from './execution-deps.ts';

/**
 * Reconciliation runs (one per connection's scheduler tick or on-demand request) and the periodic step that keeps
 * one scheduler per connection to reconcile. A run refreshes orders with the engine's own deps, so the fills it
 * finds go through the same recording path and the same follow-up jobs as the poller's.
 */
export function reconcileProcessor(
  sources: ExecutionSources & { log: Logger; queues: Pick<Queues, 'orders' | 'order-status' | 'reconcile'> },
  options: { liveness?: RunLiveness } = {},
) {
  const schedules = reconcileSchedules(sources.queues);
  const deps = { ...executionDeps(sources), schedules, liveness: options.liveness };
  return defineProcessor(
    reconcileQueue,
    { db: sources.database.db, log: sources.log },
    {
      'reconcile-connection': (ctx, payload) => reconcileConnection(ctx, deps, payload.connectionId),
      'sync-schedulers': (ctx) => syncReconcileSchedules(ctx, schedules),
    },
  );
}
