/**
 * The execution harness (api, fake brokers, the engine's workers) plus a reconcile worker, as server/worker.ts runs
 * it, and helpers to hold the order-status poller (so a fill or a cancel at the broker stays unseen by it), to
 * run a reconciliation through brokers.reconcile and wait for its run, and to run one as a scheduler tick does.
 */
import { Job, type Worker } from 'bullmq';
import { desc, eq } from 'drizzle-orm';
import { reconciliationRuns } from '../../../drizzle/schema/reconciliation_runs.ts';
import { createRedis } from '../../../server/jobs/connection.ts';
import { enqueue } from '../../../server/jobs/enqueue.ts';
import { reconcileProcessor } from '../../../server/jobs/processors/reconcile.ts';
import { closeQueues, createQueues, createWorker } from '../../../server/jobs/queue-factory.ts';
import { QUEUE_CONFIGS, reconcileQueue } from '../../../server/jobs/queues/index.ts';
import { env } from '../../../server/lib/env.ts';
import { logger } from '../../../server/lib/logger.ts';
import type { RedisClient } from '../../../server/lib/redis-client.ts';
import type { ReconcileResult } from '../../../server/services/reconcile/reconcile-connection.ts';
import type { RunLiveness } from '../../../server/services/reconcile/runs.ts';
import { httpClient } from '../../fakes/testing.ts';
import { waitFor } from '../../helpers/app.ts';
import { type ExecutionHarness, type RoutedStrategy, startExecutionHarness } from '../../helpers/execution.ts';

export interface ReconcileHarness extends ExecutionHarness {
  /** Stops the order-status worker from taking jobs and waits until none is running. */
  holdPoller(): Promise<void>;
  releasePoller(): Promise<void>;
  /** brokers.reconcile, then the run it made, once finished (as brokers.getReconciliationRuns shows it). */
  reconcile(routed: RoutedStrategy): Promise<RunView>;
  /** A run as the connection's scheduler starts one (a job of its own, never joined to an on-demand one): its result. */
  scheduledRun(connectionId: number): Promise<ReconcileResult>;
  /** Stops this process's reconcile worker from taking jobs (another worker process may take them instead). */
  holdReconciler(): Promise<void>;
  releaseReconciler(): void;
}

export interface ReconcileHarnessOptions {
  /** The reconcile worker's run heartbeat and stale threshold, shortened; production's otherwise. */
  liveness?: RunLiveness;
}

export type RunView = Awaited<
  ReturnType<RoutedStrategy['trader']['client']['brokers']['getReconciliationRuns']['query']>
>['items'][number];

export async function startReconcileHarness(options: ReconcileHarnessOptions = {}): Promise<ReconcileHarness> {
  const harness = await startExecutionHarness();
  const consumer: RedisClient = createRedis(env.REDIS_URL, 'worker', logger);
  const producer: RedisClient = createRedis(env.REDIS_URL, 'producer', logger);
  const queues = createQueues(QUEUE_CONFIGS, producer, logger);
  const sources = { database: harness.server.deps.database, log: logger, registry: harness.registry, queues };
  const processor = reconcileProcessor(sources, { liveness: options.liveness });
  const worker: Worker = createWorker(reconcileQueue, processor, consumer, logger);
  const db = harness.server.deps.database.db;
  const statusQueue = harness.server.queues['order-status'];

  const latestRunId = async (connectionId: number) => {
    const [row] = await db
      .select({ id: reconciliationRuns.id })
      .from(reconciliationRuns)
      .where(eq(reconciliationRuns.brokerConnectionId, connectionId))
      .orderBy(desc(reconciliationRuns.id))
      .limit(1);
    return row?.id ?? 0;
  };

  return {
    ...harness,
    async holdPoller() {
      await statusQueue.pause();
      await waitFor(async () => (await statusQueue.getActiveCount()) === 0, 10_000, 25);
    },
    async releasePoller() {
      await statusQueue.resume();
    },
    async reconcile(routed) {
      const before = await latestRunId(routed.connectionId);
      await routed.trader.client.brokers.reconcile.mutate({ connectionId: routed.connectionId });
      let run: RunView | undefined;
      await waitFor(
        async () => {
          const page = await routed.trader.client.brokers.getReconciliationRuns.query({
            connectionId: routed.connectionId,
            limit: 1,
          });
          run = page.items[0];
          return run !== undefined && run.id > before && run.status !== null;
        },
        10_000,
        25,
      );
      if (!run) throw new Error('no reconciliation run');
      return run;
    },
    async scheduledRun(connectionId) {
      const job = await enqueue(queues.reconcile, 'reconcile-connection', { connectionId });
      const id = String(job.id);
      let done: Job | undefined;
      await waitFor(
        async () => {
          done = await Job.fromId(queues.reconcile, id);
          return done?.finishedOn !== undefined;
        },
        10_000,
        25,
      );
      if (done?.failedReason) throw new Error(`reconcile job failed: ${done.failedReason}`);
      return done?.returnvalue as ReconcileResult;
    },
    async holdReconciler() {
      // Waits for its active jobs, none here: it is held before anything is asked of it.
      await worker.pause();
    },
    releaseReconciler() {
      worker.resume();
    },
    async close() {
      await worker.close();
      await closeQueues(queues);
      await Promise.all([consumer.quit(), producer.quit()]);
      await harness.close();
    },
  };
}

/** The fake Alpaca's own API with the default keys: trading there is trading behind Fillpath's back. */
export function alpacaDirect(harness: ExecutionHarness) {
  return httpClient(harness.alpaca.url, {
    'APCA-API-KEY-ID': 'PKFAKEKEY0000000001',
    'APCA-API-SECRET-KEY': 'fake-secret',
  });
}
