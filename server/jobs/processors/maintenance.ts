import type { DatabaseHandle } from '../../db/client.ts';
import type { Logger } from '../../lib/logger.ts';
import { purgeExpiredSessions } from '../../services/sessions/purge-expired.ts';
import { sweepOutbox } from '../../services/webhooks/outbox-sweep.ts';
import { enqueueSignals } from '../enqueue.ts';
import type { Queues } from '../queue-factory.ts';
import { maintenanceQueue } from '../queues/maintenance.ts';
import { defineProcessor } from '../run-processor.ts';

/** Scheduled housekeeping (server/jobs/schedulers.ts). `queues.signals` is where the outbox sweep enqueues. */
export function maintenanceProcessor(deps: { database: DatabaseHandle; log: Logger; queues: Pick<Queues, 'signals'> }) {
  return defineProcessor(
    maintenanceQueue,
    { db: deps.database.db, log: deps.log },
    {
      'purge-expired-sessions': (ctx) => purgeExpiredSessions(ctx),
      'outbox-sweep': (ctx) => sweepOutbox(ctx, (ids) => enqueueSignals(deps.queues, ids)),
    },
  );
}
