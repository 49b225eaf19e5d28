import type { BrokerRegistry } from '../../brokers/registry.ts';
import type { DatabaseHandle } from '../../db/client.ts';
import type { Logger } from '../../lib/logger.ts';
import { syncSessionSchedules } from '../../services/brokers/sessions/schedules.ts';
import { upkeepConnectionSession } from '../../services/brokers/sessions/upkeep.ts';
import { BrokerUnavailable } from '../../services/errors.ts';
import type { Queues } from '../queue-factory.ts';
import { sessionsQueue } from '../queues/sessions.ts';
import { defineProcessor } from '../run-processor.ts';
import { reconcileSchedules, sessionSchedules } from '../schedulers.ts';

/**
 * Broker-session upkeep (one job per connection's scheduler tick) and the periodic step that keeps one scheduler per
 * live connection. A broker outage is retried with the queue's backoff (a renewal should land before its token
 * expires); when the last attempt still finds the broker away, the job ends without a dead letter: an outage says
 * nothing about the session, and the next tick is one interval away.
 */
export function sessionsProcessor(sources: {
  database: DatabaseHandle;
  log: Logger;
  registry: BrokerRegistry;
  queues: Pick<Queues, 'sessions' | 'reconcile'>;
}) {
  const deps = {
    registry: sources.registry,
    sessionSchedules: sessionSchedules(sources.queues),
    reconcileSchedules: reconcileSchedules(sources.queues),
  };
  return defineProcessor(
    sessionsQueue,
    { db: sources.database.db, log: sources.log },
    {
      'refresh-session': async (ctx, payload) => {
        try {
          return await upkeepConnectionSession(ctx, deps, payload.connectionId);
        } catch (error) {
          if (!(error instanceof BrokerUnavailable) || ctx.job.attempt < ctx.job.attempts) throw error;
          ctx.log.warn(
            { connectionId: payload.connectionId, message: error.message },
            'broker away; session unchanged',
          );
          return { status: 'unchanged', reason: 'broker-unavailable' };
        }
      },
      'sync-schedulers': (ctx) => syncSessionSchedules(ctx, deps.sessionSchedules),
    },
  );
}
