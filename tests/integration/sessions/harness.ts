/**
 * The execution harness (api, fake brokers, the engine's workers) plus the worker's sessions processor, driven one
 * tick at a time: `tick(connectionId)` runs the `refresh-session` job a connection's scheduler would add, so a test
 * decides when checks happen (the scheduled ones wait in Redis with no sessions worker to take them).
 */
import type { Job } from 'bullmq';
import { eq } from 'drizzle-orm';
import { brokerConnections } from '../../../drizzle/schema/broker_connections.ts';
import { sessionsProcessor } from '../../../server/jobs/processors/sessions.ts';
import { sessionsQueue } from '../../../server/jobs/queues/index.ts';
import { logger } from '../../../server/lib/logger.ts';
import type { ServiceContext } from '../../../server/services/context.ts';
import {
  type ExecutionHarness,
  type HarnessOptions,
  notificationsOf,
  startExecutionHarness,
} from '../../helpers/execution.ts';

export interface SessionsHarness extends ExecutionHarness {
  /** One run of the connection's session job; `attempt` (1-based) of the queue's attempts. */
  tick(connectionId: number, attempt?: number): Promise<unknown>;
  connection(connectionId: number): Promise<typeof brokerConnections.$inferSelect>;
  /** The trader's `broker.session_expired` and `broker.session_restored` notifications, oldest first. */
  notices(userId: number): Promise<{ expired: string[]; restored: string[] }>;
  system(): ServiceContext;
}

let jobs = 0;

export async function startSessionsHarness(options: HarnessOptions = {}): Promise<SessionsHarness> {
  const harness = await startExecutionHarness(options);
  const db = harness.server.deps.database.db;
  const processor = sessionsProcessor({
    database: harness.server.deps.database,
    log: logger,
    registry: harness.registry,
    queues: harness.server.queues,
  });
  const attempts = sessionsQueue.defaultJobOptions.attempts;
  const messages = async (userId: number, type: string) =>
    (await notificationsOf(harness, userId, type)).map((n) => n.message);
  return {
    ...harness,
    tick(connectionId, attempt = 1) {
      const job = {
        id: `session-test-${++jobs}`,
        name: 'refresh-session',
        data: { connectionId },
        attemptsMade: attempt - 1,
        opts: { attempts },
      };
      return processor(job as unknown as Job);
    },
    async connection(connectionId) {
      const [row] = await db.select().from(brokerConnections).where(eq(brokerConnections.id, connectionId));
      if (!row) throw new Error(`connection ${connectionId} not found`);
      return row;
    },
    async notices(userId) {
      return {
        expired: await messages(userId, 'broker.session_expired'),
        restored: await messages(userId, 'broker.session_restored'),
      };
    },
    system: () => ({ db, log: logger, requestId: 'test-sessions', actor: { type: 'system', job: 'refresh-session' } }),
  };
}
