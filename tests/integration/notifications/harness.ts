/**
 * Notification delivery in one test process: the api (startTestApp, for channels and the in-app verbs), the notify
 * worker with its own channel breakers and the dead-letter recorder, wired as server/worker.ts wires them. The
 * notify queue keeps few attempts and a 20 ms backoff, so a test sees a channel outlast every attempt quickly.
 * Channels may target loopback receivers (ALLOW_PRIVATE_NOTIFY_TARGETS is on while the harness runs) and Telegram
 * goes to TELEGRAM_API_URL, pointed at a receiver by `useTelegram`.
 */
import type { Worker } from 'bullmq';
import { eq } from 'drizzle-orm';
import { notificationChannels } from '../../../drizzle/schema/notification_channels.ts';
import { notifications } from '../../../drizzle/schema/notifications.ts';
import { createRedis } from '../../../server/jobs/connection.ts';
import { enqueueDeadLetterRecord } from '../../../server/jobs/dead-letters.ts';
import { deadLettersProcessor } from '../../../server/jobs/processors/dead-letters.ts';
import { enqueueDeliveries, notifyProcessor } from '../../../server/jobs/processors/notify.ts';
import {
  closeQueues,
  createQueues,
  createWorker,
  type QueueConfig,
  type Queues,
} from '../../../server/jobs/queue-factory.ts';
import { deadLettersQueue, notifyQueue, QUEUE_CONFIGS } from '../../../server/jobs/queues/index.ts';
import { env } from '../../../server/lib/env.ts';
import { logger } from '../../../server/lib/logger.ts';
import type { RedisClient } from '../../../server/lib/redis-client.ts';
import type { ServiceContext } from '../../../server/services/context.ts';
import { type ChannelBreakerSettings, ChannelBreakers } from '../../../server/services/delivery/breakers.ts';
import { createNotification, type NotificationInput } from '../../../server/services/notifications/create.ts';
import { dispatchNotifications } from '../../../server/services/notifications/dispatch.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';

export const TEST_ATTEMPTS = 3;

export const TEST_NOTIFY_QUEUE: QueueConfig<'notify'> = {
  ...notifyQueue,
  defaultJobOptions: {
    ...notifyQueue.defaultJobOptions,
    attempts: TEST_ATTEMPTS,
    backoff: { type: 'fixed', delay: 20 },
  },
};

export interface NotifyHarness {
  server: TestApp;
  queues: Queues;
  breakers: ChannelBreakers;
  ctx: ServiceContext;
  /** Runs one dispatch sweep, as the scheduled job does. */
  dispatch(): Promise<{ notifications: number; deliveries: number }>;
  notify(input: Partial<NotificationInput> & { userId: number }): Promise<number>;
  channelRow(id: number): Promise<typeof notificationChannels.$inferSelect>;
  notificationsOf(userId: number): Promise<Array<typeof notifications.$inferSelect>>;
  useTelegram(url: string): void;
  close(): Promise<void>;
}

export async function startNotifyHarness(breaker: Partial<ChannelBreakerSettings> = {}): Promise<NotifyHarness> {
  const allowPrivate = env.ALLOW_PRIVATE_NOTIFY_TARGETS;
  const telegramUrl = env.TELEGRAM_API_URL;
  env.ALLOW_PRIVATE_NOTIFY_TARGETS = true;
  const server = await startTestApp();
  const { database } = server.deps;
  const consumer: RedisClient = createRedis(env.REDIS_URL, 'worker', logger);
  const producer: RedisClient = createRedis(env.REDIS_URL, 'producer', logger);
  const queues = createQueues({ ...QUEUE_CONFIGS, notify: TEST_NOTIFY_QUEUE }, producer, logger);
  const breakers = new ChannelBreakers({ timeoutMs: 400, resetTimeoutMs: 60_000, ...breaker });
  const start = (config: QueueConfig, processor: Parameters<typeof createWorker>[1]) =>
    createWorker(config, processor, consumer, logger, {
      onGivenUp: (job) => enqueueDeadLetterRecord(queues, config.name, job, logger),
    });
  const workers: Worker[] = [
    start(TEST_NOTIFY_QUEUE, notifyProcessor({ database, log: logger, queues, breakers })),
    start(deadLettersQueue, deadLettersProcessor({ database, log: logger, queues })),
  ];
  const ctx: ServiceContext = { db: database.db, log: logger, requestId: 'test', actor: { type: 'system' } };
  return {
    server,
    queues,
    breakers,
    ctx,
    dispatch: () => dispatchNotifications(ctx, (deliveries) => enqueueDeliveries(queues, deliveries)),
    notify: (input) =>
      createNotification(database.db, {
        type: 'order.filled',
        severity: 'success',
        title: 'Order filled',
        message: 'Bought 2 MNQ at 21,000.25',
        data: { orderId: 1 },
        ...input,
      }),
    async channelRow(id) {
      const [row] = await database.db.select().from(notificationChannels).where(eq(notificationChannels.id, id));
      if (!row) throw new Error(`no channel ${id}`);
      return row;
    },
    notificationsOf: (userId) =>
      database.db.select().from(notifications).where(eq(notifications.userId, userId)).orderBy(notifications.id),
    useTelegram(url) {
      env.TELEGRAM_API_URL = url;
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.close()));
      breakers.close();
      await closeQueues(queues);
      await Promise.all([consumer.quit(), producer.quit()]);
      await server.close();
      env.ALLOW_PRIVATE_NOTIFY_TARGETS = allowPrivate;
      env.TELEGRAM_API_URL = telegramUrl;
    },
  };
}
