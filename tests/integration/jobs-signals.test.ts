/**
 * The signals processor through a real queue and worker: it decides an accepted log exactly once however often its
 * job runs (here a strategy without routes: `ignored` with `no-routes` and one notification), leaves logs in any
 * other state alone, and fails for good, without retries, on a missing log or a stored payload that cannot be a
 * signal. What it decides for routed strategies is tested in tests/integration/execution.
 */
import { randomUUID } from 'node:crypto';
import type { Job, Worker } from 'bullmq';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifications } from '../../drizzle/schema/notifications.ts';
import { strategies } from '../../drizzle/schema/strategies.ts';
import { users } from '../../drizzle/schema/users.ts';
import { webhookLogs } from '../../drizzle/schema/webhook_logs.ts';
import { BrokerRegistry } from '../../server/brokers/registry.ts';
import { createRedis } from '../../server/jobs/connection.ts';
import { enqueueSignal } from '../../server/jobs/enqueue.ts';
import { signalsProcessor } from '../../server/jobs/processors/signals.ts';
import { createQueue, createWorker, type NamedQueue } from '../../server/jobs/queue-factory.ts';
import { orderStatusQueue } from '../../server/jobs/queues/order-status.ts';
import { ordersQueue } from '../../server/jobs/queues/orders.ts';
import { signalsQueue } from '../../server/jobs/queues/signals.ts';
import { env } from '../../server/lib/env.ts';
import { logger } from '../../server/lib/logger.ts';
import type { RedisClient } from '../../server/lib/redis-client.ts';
import type { WebhookLogStatus } from '../../shared/enums.ts';
import { waitFor } from '../helpers/app.ts';
import { useTestDatabase } from '../helpers/db.ts';

const database = useTestDatabase();
const { db } = database;

let producer: RedisClient;
let consumer: RedisClient;
let queue: NamedQueue<'signals'>;
let worker: Worker;
let strategyId = 0;
let userId = 0;
beforeAll(async () => {
  producer = createRedis(env.REDIS_URL, 'producer', logger);
  consumer = createRedis(env.REDIS_URL, 'worker', logger);
  queue = createQueue(signalsQueue, producer, logger);
  const queues = {
    orders: createQueue(ordersQueue, producer, logger),
    'order-status': createQueue(orderStatusQueue, producer, logger),
  };
  const sources = { database, log: logger, registry: new BrokerRegistry(), queues };
  worker = createWorker(signalsQueue, signalsProcessor(sources), consumer, logger);
  const [user] = await db
    .insert(users)
    .values({ email: `${randomUUID()}@example.com`, passwordHash: 'x', name: 'Signals' })
    .$returningId();
  const [strategy] = await db
    .insert(strategies)
    .values({ userId: user?.id ?? 0, name: 'Signals', webhookTokenHash: randomUUID(), webhookTokenEnc: 'x' })
    .$returningId();
  strategyId = strategy?.id ?? 0;
  userId = user?.id ?? 0;
});
afterAll(async () => {
  await worker.close();
  await queue.close();
  await Promise.all([producer.quit(), consumer.quit()]);
});

async function seedLog(status: WebhookLogStatus = 'received', payload: Record<string, unknown> | null = null) {
  const [row] = await db
    .insert(webhookLogs)
    .values({
      strategyId,
      receivedAt: new Date(),
      rawBody: '{}',
      payload: payload ?? { ticker: 'MNQ1!', action: 'buy', quantity: '1' },
      status,
    })
    .$returningId();
  return row?.id ?? 0;
}

async function logRow(id: number) {
  const [row] = await db
    .select({ status: webhookLogs.status, errorCode: webhookLogs.errorCode })
    .from(webhookLogs)
    .where(eq(webhookLogs.id, id));
  return row;
}

/** Waits until the job completed or failed for good, and returns what BullMQ recorded. */
async function settled(job: Job) {
  const id = String(job.id);
  let state = '';
  await waitFor(async () => {
    state = String(await queue.getJobState(id));
    return state === 'completed' || state === 'failed';
  });
  const stored = await queue.getJob(id);
  return { state, attemptsMade: stored?.attemptsMade, reason: stored?.failedReason, returnvalue: stored?.returnvalue };
}

async function notificationsAbout(webhookLogId: number) {
  const rows = await db.select().from(notifications).where(eq(notifications.userId, userId));
  return rows.filter((row) => (row.data as { webhookLogId?: number } | null)?.webhookLogId === webhookLogId);
}

describe('signals processor', () => {
  it('decides a received log once, and a second run of the same job changes nothing', async () => {
    const id = await seedLog();
    const job = await enqueueSignal({ signals: queue }, id);
    expect(job.id).toBe(`log-${id}`);
    expect(await settled(job)).toMatchObject({ state: 'completed', returnvalue: { status: 'ignored', orderIds: [] } });
    expect(await logRow(id)).toEqual({ status: 'ignored', errorCode: 'no-routes' });
    expect(await notificationsAbout(id)).toHaveLength(1);

    // Run the very same job again, as a retry or a stalled job would.
    await (await queue.getJob(`log-${id}`))?.retry('completed');
    await waitFor(async () => (await queue.getJobState(`log-${id}`)) === 'completed');
    expect(await logRow(id)).toEqual({ status: 'ignored', errorCode: 'no-routes' });
    expect(await notificationsAbout(id)).toHaveLength(1);
  });

  it('lets exactly one of several concurrent jobs for the same log decide it', async () => {
    const id = await seedLog();
    // Distinct job ids defeat BullMQ's dedup, as a re-enqueue after the first job's removal would.
    const jobs = await Promise.all(
      [1, 2, 3, 4, 5].map((n) => queue.add('execute-signal', { webhookLogId: id }, { jobId: `race-${id}-${n}` })),
    );
    const results = await Promise.all(jobs.map(settled));
    expect(results.map((r) => r.state)).toEqual(Array(5).fill('completed'));
    expect(await logRow(id)).toEqual({ status: 'ignored', errorCode: 'no-routes' });
    expect(await notificationsAbout(id)).toHaveLength(1);
  });

  it.each(['duplicate', 'rejected', 'executed', 'failed'] as const)('leaves a %s log alone', async (status) => {
    const id = await seedLog(status);
    const job = await enqueueSignal({ signals: queue }, id);
    expect(await settled(job)).toMatchObject({ state: 'completed', returnvalue: { status, orderIds: [] } });
    expect(await notificationsAbout(id)).toHaveLength(0);
    expect((await logRow(id))?.status).toBe(status);
  });

  it('fails for good, without retries, when the log does not exist or was deleted', async () => {
    const missing = await enqueueSignal({ signals: queue }, 999_999_999);
    expect(await settled(missing)).toMatchObject({ state: 'failed', attemptsMade: 1, reason: 'webhook log not found' });

    const id = await seedLog();
    await db.update(webhookLogs).set({ deletedAt: new Date() }).where(eq(webhookLogs.id, id));
    const deleted = await enqueueSignal({ signals: queue }, id);
    expect(await settled(deleted)).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect((await logRow(id))?.status).toBe('received');
  });

  it('marks a log whose stored payload is no signal as failed, once, so the outbox sweep stops picking it up', async () => {
    const id = await seedLog('received', { note: 'no ticker, no action' });
    const job = await enqueueSignal({ signals: queue }, id);
    expect(await settled(job)).toMatchObject({
      state: 'failed',
      attemptsMade: 1,
      reason: 'webhook log holds no executable signal',
    });
    expect(await logRow(id)).toEqual({ status: 'failed', errorCode: 'malformed-payload' });
  });

  it('fails an invalid payload at once and touches no log', async () => {
    const id = await seedLog();
    const job = await queue.add('execute-signal', { webhookLogId: String(id) }, { jobId: `bad-${id}` });
    expect(await settled(job)).toMatchObject({
      state: 'failed',
      attemptsMade: 1,
      reason: 'invalid execute-signal payload',
    });
    expect((await logRow(id))?.status).toBe('received');
  });
});
