/**
 * Enqueueing signal jobs and the outbox sweep, against real MariaDB and Redis: a log id maps to one job however
 * often it is enqueued, and the sweep picks up exactly the live logs left `received` for more than 30 s, also when
 * it runs as the scheduled maintenance job. No signals worker runs here, so enqueued jobs stay waiting to be counted.
 */
import { randomUUID } from 'node:crypto';
import { UnrecoverableError, type Worker } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { strategies } from '../../drizzle/schema/strategies.ts';
import { users } from '../../drizzle/schema/users.ts';
import { webhookLogs } from '../../drizzle/schema/webhook_logs.ts';
import { createRedis } from '../../server/jobs/connection.ts';
import { enqueueSignal, enqueueSignals, reviveSignals } from '../../server/jobs/enqueue.ts';
import { maintenanceProcessor } from '../../server/jobs/processors/maintenance.ts';
import { closeQueues, createQueues, createWorker, type Queues } from '../../server/jobs/queue-factory.ts';
import { maintenanceQueue, QUEUE_CONFIGS } from '../../server/jobs/queues/index.ts';
import { env } from '../../server/lib/env.ts';
import { logger } from '../../server/lib/logger.ts';
import type { RedisClient } from '../../server/lib/redis-client.ts';
import { staleReceivedLogs, sweepOutbox } from '../../server/services/webhooks/outbox-sweep.ts';
import type { WebhookLogStatus } from '../../shared/enums.ts';
import { waitFor } from '../helpers/app.ts';
import { useTestDatabase } from '../helpers/db.ts';

const database = useTestDatabase();
const { db } = database;
const ctx = { db, log: logger, requestId: 'jobs-outbox-test', actor: { type: 'system' as const } };
const secondsAgo = (seconds: number) => new Date(Date.now() - seconds * 1000);

let producer: RedisClient;
let queues: Queues;
let strategyId = 0;
beforeAll(async () => {
  producer = createRedis(env.REDIS_URL, 'producer', logger);
  queues = createQueues(QUEUE_CONFIGS, producer, logger);
  const [user] = await db
    .insert(users)
    .values({ email: `${randomUUID()}@example.com`, passwordHash: 'x', name: 'Outbox' })
    .$returningId();
  const [strategy] = await db
    .insert(strategies)
    .values({ userId: user?.id ?? 0, name: 'Outbox', webhookTokenHash: randomUUID(), webhookTokenEnc: 'x' })
    .$returningId();
  strategyId = strategy?.id ?? 0;
});
afterAll(async () => {
  await closeQueues(queues);
  await producer.quit();
});
beforeEach(async () => {
  await queues.signals.obliterate({ force: true });
  await db.delete(webhookLogs);
});

/** Inserts a log written `ageS` seconds ago and returns its id. */
async function seedLog(ageS: number, status: WebhookLogStatus = 'received', extra: { deletedAt?: Date } = {}) {
  const at = secondsAgo(ageS);
  const [row] = await db
    .insert(webhookLogs)
    .values({
      strategyId,
      receivedAt: at,
      createdAt: at,
      rawBody: '{"ticker":"MNQ1!","action":"buy"}',
      payload: { ticker: 'MNQ1!', action: 'buy' },
      status,
      ...extra,
    })
    .$returningId();
  return row?.id ?? 0;
}

/** The signal jobs waiting in Redis, as `jobId → webhookLogId`. */
async function waitingSignals(): Promise<Record<string, unknown>> {
  const jobs = await queues.signals.getJobs(['waiting']);
  return Object.fromEntries(jobs.map((job) => [job.id, job.data.webhookLogId]));
}

const enqueueInto = (ids: number[]) => enqueueSignals(queues, ids);

describe('enqueueSignal', () => {
  it('keeps one job per log however often the log is enqueued', async () => {
    const first = await enqueueSignal(queues, 41);
    const second = await enqueueSignal(queues, 41);
    await enqueueSignals(queues, [41, 42, 42]);
    expect(first.id).toBe('log-41');
    expect(second.id).toBe('log-41');
    expect(await waitingSignals()).toEqual({ 'log-41': 41, 'log-42': 42 });
    // The queue's options came along: a bounded retention and the configured attempts.
    const job = await queues.signals.getJob('log-41');
    expect(job?.opts).toMatchObject({ attempts: 5, removeOnComplete: { age: 3_600, count: 10_000 } });
  });
});

describe('sweepOutbox', () => {
  it('enqueues a received log older than 30 s exactly once, however often it sweeps', async () => {
    const stale = await seedLog(31);
    expect(await sweepOutbox(ctx, enqueueInto)).toEqual({ swept: 1 });
    // The log is still `received` (no worker claimed it), so it is swept again; the job id keeps it one job.
    expect(await sweepOutbox(ctx, enqueueInto)).toEqual({ swept: 1 });
    expect(await waitingSignals()).toEqual({ [`log-${stale}`]: stale });
  });

  it('leaves alone fresh logs, logs past `received` and deleted logs', async () => {
    await seedLog(5);
    await seedLog(25);
    for (const status of ['executing', 'executed', 'rejected', 'duplicate', 'failed'] as const) {
      await seedLog(120, status);
    }
    await seedLog(120, 'received', { deletedAt: secondsAgo(60) });
    expect(await sweepOutbox(ctx, enqueueInto)).toEqual({ swept: 0 });
    expect(await waitingSignals()).toEqual({});
  });

  it('walks every stale log in bounded batches, oldest first, and stops at maxBatches', async () => {
    const ids = [await seedLog(300), await seedLog(200), await seedLog(100), await seedLog(100), await seedLog(40)];
    const batches: number[][] = [];
    const recording = async (batch: number[]) => {
      batches.push(batch);
    };
    expect(await sweepOutbox(ctx, recording, { batchSize: 2 })).toEqual({ swept: 5 });
    expect(batches).toEqual([ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);
    batches.length = 0;
    expect(await sweepOutbox(ctx, recording, { batchSize: 2, maxBatches: 2 })).toEqual({ swept: 4 });
    expect(batches.flat()).toEqual(ids.slice(0, 4));
  });

  it('fails when Redis refuses the enqueue, so the next sweep tries again', async () => {
    await seedLog(60);
    const refusing = async () => {
      throw new Error('Stream isn’t writeable and enableOfflineQueue options is false');
    };
    await expect(sweepOutbox(ctx, refusing)).rejects.toThrow('enableOfflineQueue');
    expect(await sweepOutbox(ctx, enqueueInto)).toEqual({ swept: 1 });
  });

  it('can find its rows through webhook_logs_status_created_at_idx', async () => {
    const query = db
      .select({ id: webhookLogs.id })
      .from(webhookLogs)
      .where(staleReceivedLogs(secondsAgo(30)))
      .orderBy(webhookLogs.createdAt, webhookLogs.id)
      .limit(500)
      .toSQL();
    const [plan] = (await database.pool.query(`EXPLAIN ${query.sql}`, query.params)) as unknown as [
      { possible_keys: string | null }[],
    ];
    expect((plan[0]?.possible_keys ?? '').split(',')).toContain('webhook_logs_status_created_at_idx');
  });
});

describe('the outbox-sweep maintenance job', () => {
  let consumer: RedisClient;
  let worker: Worker;
  beforeAll(() => {
    consumer = createRedis(env.REDIS_URL, 'worker', logger);
    worker = createWorker(maintenanceQueue, maintenanceProcessor({ database, log: logger, queues }), consumer, logger);
  });
  afterAll(async () => {
    await worker.close();
    await consumer.quit();
  });

  it('enqueues the stale received logs into the signals queue', async () => {
    const stale = await seedLog(45);
    await seedLog(1);
    const job = await queues.maintenance.add('outbox-sweep', {});
    await waitFor(async () => (await queues.maintenance.getJobState(String(job.id))) === 'completed');
    expect((await queues.maintenance.getJob(String(job.id)))?.returnvalue).toEqual({
      logs: { swept: 1 },
      orders: { swept: 0 },
    });
    expect(await waitingSignals()).toEqual({ [`log-${stale}`]: stale });
  });
});

describe("reviveSignals (the sweep's enqueue)", () => {
  it("retries a log's job that failed for good, which a plain add under its id would leave failed", async () => {
    const id = await seedLog(60);
    await enqueueSignals(queues, [id]);
    const consumer = createRedis(env.REDIS_URL, 'worker', logger);
    // Stands in for a job that stalled past maxStalledCount while workers were being killed.
    const failing = createWorker(
      QUEUE_CONFIGS.signals,
      async () => {
        throw new UnrecoverableError('stalled more than allowable limit');
      },
      consumer,
      logger,
    );
    const jobId = `log-${id}`;
    await waitFor(async () => (await queues.signals.getJobState(jobId)) === 'failed');
    await failing.close();
    await consumer.quit();

    await enqueueSignals(queues, [id]);
    expect(await queues.signals.getJobState(jobId)).toBe('failed');
    await reviveSignals(queues, [id]);
    expect(await queues.signals.getJobState(jobId)).toBe('waiting');
    // A job that is missing is added, one that waits is left alone.
    const other = await seedLog(60);
    await reviveSignals(queues, [id, other]);
    expect(await waitingSignals()).toEqual({ [jobId]: id, [`log-${other}`]: other });
  });
});
