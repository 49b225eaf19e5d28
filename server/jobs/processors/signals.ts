import type { Logger } from '../../lib/logger.ts';
import { executeSignal } from '../../services/execution/execute-signal.ts';
import { signalsQueue } from '../queues/signals.ts';
import { defineProcessor } from '../run-processor.ts';
import { type ExecutionSources, executionDeps } from './execution-deps.ts';

/**
 * One job per accepted webhook log (job id `log-<id>`): the signal engine plans it and writes its orders in one
 * transaction (server/services/execution/execute-signal.ts); a re-run finds the log past `received` and only
 * re-enqueues what is still pending.
 */
export function signalsProcessor(sources: ExecutionSources & { log: Logger }) {
  const deps = executionDeps(sources);
  return defineProcessor(
    signalsQueue,
    { db: sources.database.db, log: sources.log },
    {
      'execute-signal': (ctx, payload) => executeSignal(ctx, deps, payload, ctx.job),
    },
  );
}
