import type { DatabaseHandle } from '../../db/client.ts';
import type { Logger } from '../../lib/logger.ts';
import { claimForExecution } from '../../services/webhooks/claim-for-execution.ts';
import { signalsQueue } from '../queues/signals.ts';
import { defineProcessor } from '../run-processor.ts';

/**
 * One job per accepted webhook log (job id `log-<id>`). For now it only claims the log (`received` → `executing`,
 * once, however often the job runs); the execution issue replaces this body with claim-then-execute, and must then
 * resume a log it finds `executing` after a crash (idempotent through the orders' unique keys) instead of skipping it.
 */
export function signalsProcessor(deps: { database: DatabaseHandle; log: Logger }) {
  return defineProcessor(
    signalsQueue,
    { db: deps.database.db, log: deps.log },
    {
      'execute-signal': (ctx, payload) => claimForExecution(ctx, payload),
    },
  );
}
