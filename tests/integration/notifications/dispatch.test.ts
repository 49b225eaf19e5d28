/**
 * The notification outbox sweep without a worker: undispatched notifications become one delivery job per matching
 * channel under `notify-<notificationId>-<channelId>`, a repeated sweep adds nothing, a sweep is bounded, only
 * committed rows are seen, and the sweep is registered as a 2 s job scheduler.
 */
import { randomUUID } from 'node:crypto';
import { eq, isNull } from 'drizzle-orm';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { notificationChannels } from '../../../drizzle/schema/notification_channels.ts';
import { notifications } from '../../../drizzle/schema/notifications.ts';
import { users } from '../../../drizzle/schema/users.ts';
import { createRedis } from '../../../server/jobs/connection.ts';
import { enqueueDeliveries } from '../../../server/jobs/processors/notify.ts';
import { closeQueues, createQueues, type Queues } from '../../../server/jobs/queue-factory.ts';
import { QUEUE_CONFIGS } from '../../../server/jobs/queues/index.ts';
import { NOTIFY_DISPATCH, SCHEDULES, upsertSchedulers } from '../../../server/jobs/schedulers.ts';
import { env } from '../../../server/lib/env.ts';
import { logger } from '../../../server/lib/logger.ts';
import type { RedisClient } from '../../../server/lib/redis-client.ts';
import type { ServiceContext } from '../../../server/services/context.ts';
import { createNotification } from '../../../server/services/notifications/create.ts';
import { dispatchNotifications } from '../../../server/services/notifications/dispatch.ts';
import { useTestDatabase } from '../../helpers/db.ts';

const database = useTestDatabase();
const { db } = database;
const ctx: ServiceContext = { db, log: logger, requestId: 'test', actor: { type: 'system' } };
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
beforeEach(async () => {
  await queues.notify.obliterate({ force: true });
  await db.update(notifications).set({ dispatchedAt: new Date() }).where(isNull(notifications.dispatchedAt));
});

async function insertUser(): Promise<number> {
  const [row] = await db
    .insert(users)
    .values({ email: `${randomUUID()}@example.com`, passwordHash: 'x', name: 'Dispatch' })
    .$returningId();
  return row?.id ?? 0;
}

async function insertChannel(userId: number, events: string[] | null = null): Promise<number> {
  // The target is never opened by the sweep.
  const [row] = await db
    .insert(notificationChannels)
    .values({ userId, kind: 'discord', name: `C-${randomUUID().slice(0, 8)}`, targetEnc: 'unused', events })
    .$returningId();
  return row?.id ?? 0;
}

const notify = (userId: number, type: 'order.filled' | 'order.rejected' = 'order.filled') =>
  createNotification(db, { userId, type, severity: 'info', title: 't', message: 'm' });

const sweep = (options: Parameters<typeof dispatchNotifications>[2] = {}) =>
  dispatchNotifications(ctx, (deliveries) => enqueueDeliveries(queues, deliveries), options);

describe('dispatch sweep', () => {
  it('enqueues one job per matching channel under a derived id, marks the rows, and adds nothing twice', async () => {
    const userId = await insertUser();
    const all = await insertChannel(userId);
    const rejects = await insertChannel(userId, ['order.rejected']);
    const filled = await notify(userId);
    const rejected = await notify(userId, 'order.rejected');

    expect(await sweep()).toEqual({ notifications: 2, deliveries: 3 });
    const jobs = await queues.notify.getJobs(['waiting']);
    expect(jobs.map((job) => job.id).sort()).toEqual(
      [`notify-${filled}-${all}`, `notify-${rejected}-${all}`, `notify-${rejected}-${rejects}`].sort(),
    );
    const job = await queues.notify.getJob(`notify-${rejected}-${rejects}`);
    expect([job?.name, job?.data, job?.opts.attempts]).toEqual([
      'deliver-notification',
      { notificationId: rejected, channelId: rejects },
      8,
    ]);
    const marked = await db.select().from(notifications).where(eq(notifications.userId, userId));
    expect(marked.every((row) => row.dispatchedAt instanceof Date)).toBe(true);

    // A sweep repeated after a crash (rows not marked) enqueues the same ids: BullMQ keeps one job each.
    await db.update(notifications).set({ dispatchedAt: null }).where(eq(notifications.userId, userId));
    expect(await sweep()).toEqual({ notifications: 2, deliveries: 3 });
    expect(await queues.notify.getJobCountByTypes('waiting')).toBe(3);
    expect(await sweep()).toEqual({ notifications: 0, deliveries: 0 });
  });

  it('works in bounded batches and marks notifications without channels too', async () => {
    const userId = await insertUser();
    for (let i = 0; i < 5; i++) await notify(userId);
    expect(await sweep({ batchSize: 2, maxBatches: 2 })).toEqual({ notifications: 4, deliveries: 0 });
    expect(await sweep({ batchSize: 2, maxBatches: 2 })).toEqual({ notifications: 1, deliveries: 0 });
  });

  it('sees a notification only once the transaction that wrote it commits', async () => {
    const userId = await insertUser();
    await insertChannel(userId);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let written = 0;
    const transaction = db.transaction(async (tx) => {
      written = await createNotification(tx, {
        userId,
        type: 'order.filled',
        severity: 'info',
        title: 't',
        message: 'm',
      });
      await held;
    });
    while (written === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await sweep()).toEqual({ notifications: 0, deliveries: 0 });
    release();
    await transaction;
    expect(await sweep()).toEqual({ notifications: 1, deliveries: 1 });
  });

  it('reads undispatched rows through notifications_dispatched_at_id_idx', async () => {
    const [rows] = await database.pool.query<RowDataPacket[]>(
      'EXPLAIN SELECT id FROM notifications WHERE dispatched_at IS NULL ORDER BY id LIMIT 200',
    );
    expect(rows[0]?.key).toBe('notifications_dispatched_at_id_idx');
  });

  it('is registered on the notify queue every 2 s, without retries', async () => {
    await upsertSchedulers(queues);
    try {
      expect(await queues.notify.getJobScheduler(NOTIFY_DISPATCH.name)).toMatchObject({
        name: 'dispatch-notifications',
        every: 2_000,
      });
      expect(NOTIFY_DISPATCH.opts).toEqual({ attempts: 1 });
    } finally {
      await queues.notify.removeJobScheduler(NOTIFY_DISPATCH.name);
      for (const { name } of SCHEDULES) await queues.maintenance.removeJobScheduler(name);
    }
  });
});
