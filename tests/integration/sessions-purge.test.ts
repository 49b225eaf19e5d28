/**
 * The hourly purge of stale refresh sessions: what it deletes and keeps, that its read can use the indexes instead of
 * scanning the table, and the maintenance processor running it as a real BullMQ job.
 */
import { randomUUID } from 'node:crypto';
import type { Queue, Worker } from 'bullmq';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sessions } from '../../drizzle/schema/sessions.ts';
import { users } from '../../drizzle/schema/users.ts';
import { createRedis } from '../../server/jobs/connection.ts';
import { maintenanceProcessor } from '../../server/jobs/processors/maintenance.ts';
import { createQueue, createWorker } from '../../server/jobs/queue-factory.ts';
import { maintenanceQueue } from '../../server/jobs/queues/maintenance.ts';
import { ordersQueue } from '../../server/jobs/queues/orders.ts';
import { signalsQueue } from '../../server/jobs/queues/signals.ts';
import { env } from '../../server/lib/env.ts';
import { logger } from '../../server/lib/logger.ts';
import type { RedisClient } from '../../server/lib/redis-client.ts';
import { purgeExpiredSessions, staleSessions } from '../../server/services/sessions/purge-expired.ts';
import { waitFor } from '../helpers/app.ts';
import { useTestDatabase } from '../helpers/db.ts';

const database = useTestDatabase();
const { db } = database;
const ctx = { db, log: logger, requestId: 'sessions-purge-test', actor: { type: 'system' as const } };
const DAY = 24 * 3600 * 1000;
const daysFromNow = (days: number) => new Date(Date.now() + days * DAY);

let userId = 0;
beforeAll(async () => {
  const [user] = await db
    .insert(users)
    .values({ email: `${randomUUID()}@example.com`, passwordHash: 'x', name: 'Sessions' })
    .$returningId();
  userId = user?.id ?? 0;
});
beforeEach(async () => {
  await db.delete(sessions);
});

/** Inserts sessions and returns their ids in order. */
async function seed(...rows: { expiresAt: Date; revokedAt?: Date }[]): Promise<number[]> {
  const ids: number[] = [];
  for (const row of rows) {
    const [inserted] = await db
      .insert(sessions)
      .values({ userId, familyId: randomUUID(), refreshTokenHash: randomUUID(), ...row })
      .$returningId();
    ids.push(inserted?.id ?? 0);
  }
  return ids;
}

const remaining = async () => (await db.select({ id: sessions.id }).from(sessions)).map((r) => r.id).sort();

/** Seeds one session of each kind; returns the ids the purge must keep, and how many it must delete. */
async function seedMix() {
  const kept = await seed(
    { expiresAt: daysFromNow(1) }, // live
    { expiresAt: daysFromNow(-6) }, // expired within the retention window
    { expiresAt: daysFromNow(20), revokedAt: daysFromNow(-1) }, // revoked within the window
  );
  const stale = await seed(
    { expiresAt: daysFromNow(-8) },
    { expiresAt: daysFromNow(-30), revokedAt: daysFromNow(-31) },
    { expiresAt: daysFromNow(20), revokedAt: daysFromNow(-8) }, // revoked long ago, not yet expired
    { expiresAt: daysFromNow(-9) },
    { expiresAt: daysFromNow(-10) },
  );
  return { kept: kept.sort(), stale: stale.length };
}

describe('purgeExpiredSessions', () => {
  it('deletes sessions expired or revoked more than 7 days ago, in batches, and keeps the rest', async () => {
    const { kept, stale } = await seedMix();
    // Batches of 2 over 5 stale rows: three rounds, the last one short.
    expect(await purgeExpiredSessions(ctx, { batchSize: 2 })).toEqual({ deleted: stale });
    expect(await remaining()).toEqual(kept);
    expect(await purgeExpiredSessions(ctx)).toEqual({ deleted: 0 });
    expect(await remaining()).toEqual(kept);
  });

  it('can find its rows through the expires_at and revoked_at indexes rather than only by scanning', async () => {
    const query = db.select({ id: sessions.id }).from(sessions).where(staleSessions(new Date())).limit(1000).toSQL();
    const [plan] = (await database.pool.query(`EXPLAIN ${query.sql}`, query.params)) as unknown as [
      { possible_keys: string | null }[],
    ];
    const keys = (plan[0]?.possible_keys ?? '').split(',').sort();
    expect(keys).toEqual(['sessions_expires_at_idx', 'sessions_revoked_at_idx']);
  });
});

describe('maintenance processor', () => {
  let producer: RedisClient;
  let consumer: RedisClient;
  let queue: Queue;
  let worker: Worker;
  beforeAll(() => {
    producer = createRedis(env.REDIS_URL, 'producer', logger);
    consumer = createRedis(env.REDIS_URL, 'worker', logger);
    queue = createQueue(maintenanceQueue, producer, logger);
    // The outbox sweep's target queues; this file runs only the session purge, which never enqueues.
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

  /** Enqueues a job as the scheduler does and waits until the worker has settled it. */
  async function runJob(name: string, data: unknown) {
    const { id } = await queue.add(name, data);
    let state = '';
    await waitFor(async () => {
      state = String(await queue.getJobState(id ?? ''));
      return state === 'completed' || state === 'failed';
    });
    const job = await queue.getJob(id ?? '');
    return { state, returnvalue: job?.returnvalue, attemptsMade: job?.attemptsMade, reason: job?.failedReason };
  }

  it('runs purge-expired-sessions from the queue and reports what it deleted', async () => {
    const { kept, stale } = await seedMix();
    expect(await runJob('purge-expired-sessions', {})).toMatchObject({
      state: 'completed',
      returnvalue: { deleted: stale },
    });
    expect(await remaining()).toEqual(kept);
  });

  it('fails a malformed or unknown job at once, without retries, and deletes nothing', async () => {
    const [stale] = await seed({ expiresAt: daysFromNow(-8) });
    expect(await runJob('purge-expired-sessions', { everything: true })).toMatchObject({
      state: 'failed',
      attemptsMade: 1,
      reason: 'invalid purge-expired-sessions payload',
    });
    expect(await runJob('drop-everything', {})).toMatchObject({
      state: 'failed',
      attemptsMade: 1,
      reason: 'unknown maintenance job drop-everything',
    });
    expect(
      await db
        .select({ id: sessions.id })
        .from(sessions)
        .where(eq(sessions.id, stale ?? 0)),
    ).toHaveLength(1);
  });
});
