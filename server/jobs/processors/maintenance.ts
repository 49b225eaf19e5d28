import type { DatabaseHandle } from '../../db/client.ts';
import type { Logger } from '../../lib/logger.ts';
import { sweepPendingOrders } from '../../services/execution/order-outbox.ts';
import { pruneWebhookBodies } from '../../services/maintenance/prune-webhook-bodies.ts';
import { purgeResolvedDeadLetters } from '../../services/maintenance/purge-dead-letters.ts';
import { purgeReconciliationRuns } from '../../services/maintenance/purge-reconciliation-runs.ts';
import { purgeExpiredSessions } from '../../services/sessions/purge-expired.ts';
import { expireStaged } from '../../services/staging/expire.ts';
import { requeueApproved } from '../../services/staging/requeue-approved.ts';
import { sweepOutbox } from '../../services/webhooks/outbox-sweep.ts';
import { enqueueApprovedSignals, reviveSignals, reviveSubmits } from '../enqueue.ts';
import type { Queues } from '../queue-factory.ts';
import { maintenanceQueue } from '../queues/maintenance.ts';
import { defineProcessor } from '../run-processor.ts';

/**
 * Scheduled housekeeping (server/jobs/schedulers.ts). The outbox sweep enqueues into `signals` and `orders`; the
 * staging job expires undecided staged signals and re-adds approved ones whose signal job was lost. The data-growth
 * jobs (sessions, webhook bodies, dead letters) work in bounded batches under a time budget (services/maintenance).
 */
export function maintenanceProcessor(deps: {
  database: DatabaseHandle;
  log: Logger;
  queues: Pick<Queues, 'signals' | 'orders'>;
}) {
  return defineProcessor(
    maintenanceQueue,
    { db: deps.database.db, log: deps.log },
    {
      'purge-expired-sessions': (ctx) => purgeExpiredSessions(ctx),
      'prune-webhook-bodies': (ctx) => pruneWebhookBodies(ctx),
      'purge-dead-letters': (ctx) => purgeResolvedDeadLetters(ctx),
      'purge-reconciliation-runs': (ctx) => purgeReconciliationRuns(ctx),
      'outbox-sweep': async (ctx) => ({
        logs: await sweepOutbox(ctx, (ids) => reviveSignals(deps.queues, ids)),
        orders: await sweepPendingOrders(ctx, (ids) => reviveSubmits(deps.queues, ids)),
      }),
      'expire-staged': async (ctx) => ({
        ...(await expireStaged(ctx)),
        ...(await requeueApproved(ctx, (ids) => enqueueApprovedSignals(deps.queues, ids))),
      }),
    },
  );
}
