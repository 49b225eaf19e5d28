/**
 * The `expire-staged` maintenance job: staged signals nobody decided on close at their expires_at (the row
 * `expired`, the log `ignored` with `staging-expired`, one `staging.expired` notification to the owner), in bounded
 * batches; approvals whose signal job was lost are added again under the approval's job id. Run through the service
 * with a clock, and as the scheduled job through the maintenance processor.
 */
import type { Worker } from 'bullmq';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifications } from '../../../drizzle/schema/notifications.ts';
import { stagingTrades } from '../../../drizzle/schema/staging_trades.ts';
import { webhookLogs } from '../../../drizzle/schema/webhook_logs.ts';
import { createRedis } from '../../../server/jobs/connection.ts';
import { maintenanceProcessor } from '../../../server/jobs/processors/maintenance.ts';
import { closeQueues, createQueues, createWorker, type Queues } from '../../../server/jobs/queue-factory.ts';
import { maintenanceQueue, QUEUE_CONFIGS } from '../../../server/jobs/queues/index.ts';
import { SCHEDULES, upsertSchedulers } from '../../../server/jobs/schedulers.ts';
import { env } from '../../../server/lib/env.ts';
import { logger } from '../../../server/lib/logger.ts';
import type { RedisClient } from '../../../server/lib/redis-client.ts';
import type { ServiceContext } from '../../../server/services/context.ts';
import { expireStaged } from '../../../server/services/staging/expire.ts';
import { requeueApproved } from '../../../server/services/staging/requeue-approved.ts';
import { approvedSignalJobId } from '../../../shared/jobs.ts';
import { waitFor } from '../../helpers/app.ts';
import { useTestDatabase } from '../../helpers/db.ts';
import { insertStrategy } from '../../helpers/fixtures.ts';
import { insertUser } from '../dead-letters/fixtures.ts';
import { insertStaged, logRow, stagingRow } from './fixtures.ts';

const database = useTestDatabase();
const { db } = database;
const ctx: ServiceContext = { db, log: logger, requestId: 'staging-expiry-test', actor: { type: 'system' } };
const ago = (ms: number) => new Date(Date.now() - ms);

let producer: RedisClient;
let queues: Queues;
beforeAll(() => {
  producer = createRedis(env.REDIS_URL, 'producer', logger);
  queues = createQueues(QUEUE_CONFIGS, producer, logger);
});
afterAll(async () => {
  await closeQueues(queues);
  await producer.quit();
});

async function expiredNotices(userId: number) {
  return db
    .select()
    .from(notifications)
    .where(and(eq(notifications.userId, userId), eq(notifications.type, 'staging.expired')));
}

/** A staged signal the trader approved `decidedAgoMs` ago, its log as the engine left it. */
async function insertApproved(strategyId: number, decidedAgoMs: number, logStatus: 'received' | 'executing') {
  const staged = await insertStaged(db, strategyId);
  await db
    .update(stagingTrades)
    .set({ status: 'approved', decidedAt: ago(decidedAgoMs) })
    .where(eq(stagingTrades.id, staged.id));
  await db.update(webhookLogs).set({ status: logStatus }).where(eq(webhookLogs.id, staged.webhookLogId));
  return staged;
}

describe('expireStaged', () => {
  it('closes pending signals past expires_at, their logs ignored, each owner told once; leaves the rest', async () => {
    const userId = await insertUser(db, 'Expiry');
    const strategyId = await insertStrategy(db, userId, 'Manual desk');
    const due = await insertStaged(db, strategyId, { expiresAt: ago(1_000), symbol: 'MSFT' });
    const later = await insertStaged(db, strategyId, { expiresAt: new Date(Date.now() + 5 * 60_000) });
    const approved = await insertApproved(strategyId, 1_000, 'received');
    await db
      .update(stagingTrades)
      .set({ expiresAt: ago(60_000) })
      .where(eq(stagingTrades.id, approved.id));

    expect(await expireStaged(ctx)).toEqual({ expired: 1 });
    expect(await stagingRow(db, due.id)).toMatchObject({ status: 'expired', decidedBy: null, decidedAt: null });
    expect(await logRow(db, due.webhookLogId)).toMatchObject({ status: 'ignored', errorCode: 'staging-expired' });
    expect((await stagingRow(db, later.id))?.status).toBe('pending');
    expect((await stagingRow(db, approved.id))?.status).toBe('approved');
    expect((await logRow(db, approved.webhookLogId))?.status).toBe('received');
    const notices = await expiredNotices(userId);
    expect(notices).toEqual([
      expect.objectContaining({
        severity: 'warning',
        title: 'buy MSFT expired without a decision (Manual desk)',
        data: { stagingId: due.id, webhookLogId: due.webhookLogId, strategyId },
      }),
    ]);

    // A second run finds nothing; a clock past the other row's expiry closes it too.
    expect(await expireStaged(ctx)).toEqual({ expired: 0 });
    expect(await expireStaged(ctx, { now: new Date(Date.now() + 6 * 60_000) })).toEqual({ expired: 1 });
    expect((await stagingRow(db, later.id))?.status).toBe('expired');
    expect((await logRow(db, later.webhookLogId))?.status).toBe('ignored');
    expect(await expiredNotices(userId)).toHaveLength(2);
  });

  it('works in bounded batches, oldest expiry first, and the next run carries on', async () => {
    const userId = await insertUser(db, 'Batches');
    const strategyId = await insertStrategy(db, userId);
    const rows = [];
    for (const ageMs of [50_000, 40_000, 30_000, 20_000, 10_000]) {
      rows.push(await insertStaged(db, strategyId, { expiresAt: ago(ageMs) }));
    }
    expect(await expireStaged(ctx, { batchSize: 2, maxBatches: 2 })).toEqual({ expired: 4 });
    const statuses = await Promise.all(rows.map(async (row) => (await stagingRow(db, row.id))?.status));
    expect(statuses).toEqual(['expired', 'expired', 'expired', 'expired', 'pending']);
    expect(await expireStaged(ctx, { batchSize: 2, maxBatches: 2 })).toEqual({ expired: 1 });
    expect(await expiredNotices(userId)).toHaveLength(5);
  });
});

describe('requeueApproved', () => {
  it('re-adds only approvals still waiting a while after the decision, under the approval’s job id', async () => {
    await db.delete(stagingTrades);
    const strategyId = await insertStrategy(db, await insertUser(db, 'Requeue'));
    const lost = await insertApproved(strategyId, 20_000, 'received');
    await insertApproved(strategyId, 1_000, 'received'); // its own add may still be on its way
    await insertApproved(strategyId, 20_000, 'executing'); // the engine already runs it
    const added: number[][] = [];
    expect(await requeueApproved(ctx, async (ids) => void added.push(ids))).toEqual({ requeued: 1 });
    expect(added).toEqual([[lost.webhookLogId]]);
  });
});

describe('the expire-staged maintenance job', () => {
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

  it('expires what is due and re-adds a lost approval’s signal job', async () => {
    await queues.signals.obliterate({ force: true });
    await db.delete(stagingTrades);
    const strategyId = await insertStrategy(db, await insertUser(db, 'Job'));
    const due = await insertStaged(db, strategyId, { expiresAt: ago(5_000) });
    const lost = await insertApproved(strategyId, 30_000, 'received');

    const job = await queues.maintenance.add('expire-staged', {});
    await waitFor(async () => (await queues.maintenance.getJobState(String(job.id))) === 'completed');
    expect((await queues.maintenance.getJob(String(job.id)))?.returnvalue).toEqual({ expired: 1, requeued: 1 });
    expect((await stagingRow(db, due.id))?.status).toBe('expired');
    const signal = await queues.signals.getJob(approvedSignalJobId(lost.webhookLogId));
    expect(signal?.data).toEqual({ webhookLogId: lost.webhookLogId });
  });

  it('is registered as a job scheduler every 30 s, without retries', async () => {
    await upsertSchedulers(queues);
    try {
      const scheduler = await queues.maintenance.getJobScheduler('expire-staged');
      expect(scheduler).toMatchObject({ name: 'expire-staged', every: 30_000 });
      expect(SCHEDULES.find((schedule) => schedule.name === 'expire-staged')?.opts).toEqual({ attempts: 1 });
    } finally {
      for (const schedule of SCHEDULES) await queues.maintenance.removeJobScheduler(schedule.name);
    }
  });
});
