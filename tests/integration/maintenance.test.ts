/**
 * Data-growth maintenance: raw bodies of old webhook logs pruned, resolved dead letters purged, each in bounded
 * batches under a time budget, idempotently, and both run by the maintenance processor as real BullMQ jobs.
 */
import { randomUUID } from 'node:crypto';
import type { Queue, Worker } from 'bullmq';
import { asc, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deadLetters } from '../../drizzle/schema/dead_letters.ts';
import { users } from '../../drizzle/schema/users.ts';
import { webhookLogs } from '../../drizzle/schema/webhook_logs.ts';
import { createRedis } from '../../server/jobs/connection.ts';
import { maintenanceProcessor } from '../../server/jobs/processors/maintenance.ts';
import { createQueue, createWorker } from '../../server/jobs/queue-factory.ts';
import { maintenanceQueue } from '../../server/jobs/queues/maintenance.ts';
import { ordersQueue } from '../../server/jobs/queues/orders.ts';
import { signalsQueue } from '../../server/jobs/queues/signals.ts';
import { SCHEDULES } from '../../server/jobs/schedulers.ts';
import { env } from '../../server/lib/env.ts';
import { logger } from '../../server/lib/logger.ts';
import type { RedisClient } from '../../server/lib/redis-client.ts';
import { Precondition } from '../../server/services/errors.ts';
import { firstUnprunedId, pruneWebhookBodies } from '../../server/services/maintenance/prune-webhook-bodies.ts';
import { purgeResolvedDeadLetters } from '../../server/services/maintenance/purge-dead-letters.ts';
import { getWebhookLog } from '../../server/services/webhooks/get-log.ts';
import { replayWebhookLog } from '../../server/services/webhooks/replay.ts';
import type { DeadLetterStatus } from '../../shared/enums.ts';
import { waitFor } from '../helpers/app.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { insertStrategy } from '../helpers/fixtures.ts';

const database = useTestDatabase();
const { db } = database;
const ctx = { db, log: logger, requestId: 'maintenance-test', actor: { type: 'system' as const } };
const DAY = 24 * 3600 * 1000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY);
const BODY = '{"ticker":"MNQ1!","action":"buy","quantity":1}';

let userId = 0;
let strategyId = 0;
beforeAll(async () => {
  const [user] = await db
    .insert(users)
    .values({ email: `${randomUUID()}@example.com`, passwordHash: 'x', name: 'Maintenance' })
    .$returningId();
  userId = user?.id ?? 0;
  strategyId = await insertStrategy(db, userId);
});
beforeEach(async () => {
  await db.delete(webhookLogs);
  await db.delete(deadLetters);
});

/** Inserts one failed log per age (days), oldest first as TradingView would have sent them; returns their ids. */
async function seedLogs(...ages: number[]): Promise<number[]> {
  const ids: number[] = [];
  for (const age of ages) {
    const at = daysAgo(age);
    const [row] = await db
      .insert(webhookLogs)
      .values({
        strategyId,
        receivedAt: at,
        createdAt: at,
        updatedAt: at,
        rawBody: BODY,
        payload: { ticker: 'MNQ1!', action: 'buy', quantity: 1 },
        status: 'failed',
        errorCode: 'broker-unavailable',
      })
      .$returningId();
    ids.push(row?.id ?? 0);
  }
  return ids;
}

async function logRows() {
  return db
    .select({
      id: webhookLogs.id,
      rawBody: webhookLogs.rawBody,
      payload: webhookLogs.payload,
      status: webhookLogs.status,
      updatedAt: webhookLogs.updatedAt,
    })
    .from(webhookLogs)
    .orderBy(asc(webhookLogs.id));
}

const prunedIds = async () => (await logRows()).filter((row) => row.rawBody === null).map((row) => row.id);

describe('pruneWebhookBodies', () => {
  it('empties the raw body of logs older than the retention and keeps the row, its payload and its history time', async () => {
    const old = await seedLogs(90, 45, 31);
    const recent = await seedLogs(29, 1, 0);
    const before = await logRows();

    expect(await pruneWebhookBodies(ctx, { retentionDays: 30 })).toMatchObject({ changed: 3, finished: true });

    const after = await logRows();
    expect(after.map((row) => row.id)).toEqual([...old, ...recent]);
    expect(after.filter((row) => row.rawBody === null).map((row) => row.id)).toEqual(old);
    expect(after.filter((row) => row.rawBody === BODY).map((row) => row.id)).toEqual(recent);
    // Everything but the body is as it was, updated_at included (the log's history shows it as the status time).
    expect(after.map(({ rawBody: _, ...rest }) => rest)).toEqual(before.map(({ rawBody: _, ...rest }) => rest));
  });

  it('works in batches of the given size and, once its time budget is spent, leaves the rest to the next run', async () => {
    const old = await seedLogs(60, 59, 58, 57, 56);
    await seedLogs(1);
    // A zero budget allows one batch per run.
    const once = { retentionDays: 30, batchSize: 2, budgetMs: 0, pauseMs: 0 };
    expect(await pruneWebhookBodies(ctx, once)).toEqual({ changed: 2, batches: 1, finished: false });
    expect(await prunedIds()).toEqual(old.slice(0, 2));
    expect(await pruneWebhookBodies(ctx, once)).toEqual({ changed: 2, batches: 1, finished: false });
    expect(await prunedIds()).toEqual(old.slice(0, 4));
    // The last old row, then the recent one ends the walk.
    expect(await pruneWebhookBodies(ctx, once)).toEqual({ changed: 1, batches: 1, finished: true });
    expect(await prunedIds()).toEqual(old);
  });

  it('is idempotent: a second run changes nothing and starts after the rows already pruned', async () => {
    const old = await seedLogs(40, 40, 35);
    await seedLogs(2, 1);
    const options = { retentionDays: 30, batchSize: 2, pauseMs: 0 };
    expect(await pruneWebhookBodies(ctx, options)).toMatchObject({ changed: 3, finished: true });
    // The second run begins at the first unpruned row, which is already too recent: one batch, nothing changed.
    expect(await pruneWebhookBodies(ctx, options)).toEqual({ changed: 0, batches: 1, finished: true });
    expect(await prunedIds()).toEqual(old);
  });

  it('finds where to resume at every point of the walk, across gaps in the ids', async () => {
    const ids = await seedLogs(50, 50, 50, 50, 50, 50, 50, 50, 50);
    // Gaps, as deleted rows or rolled-back inserts leave them.
    await db.delete(webhookLogs).where(inArray(webhookLogs.id, [ids[1] ?? 0, ids[4] ?? 0, ids[5] ?? 0]));
    const kept = ids.filter((_, index) => ![1, 4, 5].includes(index));
    expect(await firstUnprunedId(ctx)).toBe(kept[0]);
    for (const [index, id] of kept.entries()) {
      await db.update(webhookLogs).set({ rawBody: null }).where(eq(webhookLogs.id, id));
      const next = kept[index + 1] ?? (kept.at(-1) ?? 0) + 1;
      expect(await firstUnprunedId(ctx)).toBe(next);
    }
  });

  it('does nothing on an empty table', async () => {
    expect(await firstUnprunedId(ctx)).toBeNull();
    expect(await pruneWebhookBodies(ctx)).toEqual({ changed: 0, batches: 0, finished: true });
  });

  it('leaves a pruned log readable without its body, and refuses to replay it', async () => {
    const [id = 0] = await seedLogs(100);
    await pruneWebhookBodies(ctx, { retentionDays: 30 });
    const owner = { ...ctx, actor: { type: 'user' as const, userId, role: 'user' as const } };
    expect(await getWebhookLog(owner, id)).toMatchObject({ id, rawBody: null, status: 'failed' });

    const redis = createRedis(env.REDIS_URL, 'producer', logger);
    try {
      const sources = { database, redis, enqueueSignal: async () => undefined };
      await expect(replayWebhookLog(owner, sources, id)).rejects.toBeInstanceOf(Precondition);
    } finally {
      // The refusal comes before any Redis command: the connection may not even be up, so no QUIT.
      redis.disconnect();
    }
    expect(await logRows()).toHaveLength(1);
  });
});

/** Inserts a dead letter created `createdDays` ago and, unless open, resolved `resolvedDays` ago. */
async function seedDeadLetter(status: DeadLetterStatus, createdDays: number, resolvedDays?: number): Promise<number> {
  const [row] = await db
    .insert(deadLetters)
    .values({
      queue: 'orders',
      jobName: 'submit-order',
      jobId: `order-${randomUUID()}`,
      userId,
      payload: { orderId: 1 },
      error: 'broker unavailable',
      attempts: 8,
      status,
      resolvedAt: resolvedDays === undefined ? null : daysAgo(resolvedDays),
      createdAt: daysAgo(createdDays),
    })
    .$returningId();
  return row?.id ?? 0;
}

const deadLetterIds = async () =>
  (await db.select({ id: deadLetters.id }).from(deadLetters).orderBy(asc(deadLetters.id))).map((row) => row.id);

describe('purgeResolvedDeadLetters', () => {
  it('deletes letters replayed or discarded before the retention, in batches, and keeps open and recent ones', async () => {
    const kept = [
      await seedDeadLetter('open', 400), // never resolved: someone still has to look at it
      await seedDeadLetter('replayed', 60, 10), // resolved within the retention
      await seedDeadLetter('discarded', 5, 1),
    ];
    await seedDeadLetter('replayed', 90, 31);
    await seedDeadLetter('discarded', 40, 35);
    await seedDeadLetter('discarded', 200, 199);

    const options = { retentionDays: 30, batchSize: 2, pauseMs: 0 };
    // Batches of 2 over 3 purgeable letters: two rounds, the last one short.
    expect(await purgeResolvedDeadLetters(ctx, options)).toEqual({ changed: 3, batches: 2, finished: true });
    expect(await deadLetterIds()).toEqual(kept);
    expect(await purgeResolvedDeadLetters(ctx, options)).toEqual({ changed: 0, batches: 1, finished: true });
    expect(await deadLetterIds()).toEqual(kept);
  });

  it('stops after one batch when its time budget is spent', async () => {
    for (let i = 0; i < 3; i++) await seedDeadLetter('discarded', 50, 45);
    const once = { retentionDays: 30, batchSize: 2, budgetMs: 0, pauseMs: 0 };
    expect(await purgeResolvedDeadLetters(ctx, once)).toEqual({ changed: 2, batches: 1, finished: false });
    expect(await deadLetterIds()).toHaveLength(1);
  });
});

describe('maintenance processor', () => {
  let producer: RedisClient;
  let consumer: RedisClient;
  let queue: Queue;
  let worker: Worker;
  beforeAll(async () => {
    producer = createRedis(env.REDIS_URL, 'producer', logger);
    consumer = createRedis(env.REDIS_URL, 'worker', logger);
    queue = createQueue(maintenanceQueue, producer, logger);
    // Files of one vitest worker share a Redis prefix: jobs a scheduler test left behind must not run mid-test.
    await queue.obliterate({ force: true });
    const queues = {
      signals: createQueue(signalsQueue, producer, logger),
      orders: createQueue(ordersQueue, producer, logger),
    };
    worker = createWorker(maintenanceQueue, maintenanceProcessor({ database, log: logger, queues }), consumer, logger);
  });
  afterAll(async () => {
    await worker.close();
    await queue.close();
    await Promise.all([producer.quit(), consumer.quit()]);
  });

  async function runJob(name: string) {
    const { id } = await queue.add(name, {});
    let state = '';
    await waitFor(async () => {
      state = String(await queue.getJobState(id ?? ''));
      return state === 'completed' || state === 'failed';
    });
    return { state, returnvalue: (await queue.getJob(id ?? ''))?.returnvalue };
  }

  it('runs both jobs on their schedule with the configured retentions', async () => {
    expect(SCHEDULES.map((schedule) => schedule.name)).toEqual(
      expect.arrayContaining(['purge-expired-sessions', 'prune-webhook-bodies', 'purge-dead-letters']),
    );
    const [old = 0, recent = 0] = await seedLogs(
      env.WEBHOOK_RAW_RETENTION_DAYS + 1,
      env.WEBHOOK_RAW_RETENTION_DAYS - 1,
    );
    const open = await seedDeadLetter('open', env.DLQ_RETENTION_DAYS + 10);
    await seedDeadLetter('discarded', env.DLQ_RETENTION_DAYS + 10, env.DLQ_RETENTION_DAYS + 1);

    expect(await runJob('prune-webhook-bodies')).toMatchObject({ state: 'completed', returnvalue: { changed: 1 } });
    expect(await runJob('purge-dead-letters')).toMatchObject({ state: 'completed', returnvalue: { changed: 1 } });
    expect(await prunedIds()).toEqual([old]);
    expect((await logRows()).map((row) => row.id)).toEqual([old, recent]);
    expect(await deadLetterIds()).toEqual([open]);
  });
});
