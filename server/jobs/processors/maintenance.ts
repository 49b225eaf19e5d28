import type { DatabaseHandle } from '../../db/client.ts';
import type { Logger } from '../../lib/logger.ts';
import { sweepPendingOrders } from '../../services/execution/order-outbox.ts';
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
 * staging job expires undecided staged signals and re-adds approved ones whose signal job was lost.
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
