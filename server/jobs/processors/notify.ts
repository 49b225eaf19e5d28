import { deliveryJobId, jobPayloadSchema } from '#shared/jobs.ts';
import type { DatabaseHandle } from '../../db/client.ts';
import type { Logger } from '../../lib/logger.ts';
import { ChannelBreakers } from '../../services/delivery/breakers.ts';
import { deliverNotification } from '../../services/notifications/deliver.ts';
import { type Delivery, type DispatchOptions, dispatchNotifications } from '../../services/notifications/dispatch.ts';
import type { Queues } from '../queue-factory.ts';
import { notifyQueue } from '../queues/notify.ts';
import { defineProcessor } from '../run-processor.ts';

/**
 * The deliveries of a dispatch sweep in one round trip, one job per (notification, channel) under deliveryJobId:
 * a pair enqueued twice (a sweep repeated after a crash) adds nothing while the first job is stored.
 */
export async function enqueueDeliveries(queues: Pick<Queues, 'notify'>, deliveries: Delivery[]): Promise<void> {
  if (deliveries.length === 0) return;
  const schema = jobPayloadSchema('notify', 'deliver-notification');
  if (!schema) throw new Error('notify queue has no deliver-notification job');
  await queues.notify.addBulk(
    deliveries.map(({ notificationId, channelId }) => ({
      name: 'deliver-notification',
      data: schema.parse({ notificationId, channelId }),
      opts: { jobId: deliveryJobId(notificationId, channelId) },
    })),
  );
}

/**
 * The notify queue: the scheduled dispatch sweep (notification outbox → delivery jobs) and the deliveries
 * themselves. `breakers` are this process's per-channel breakers; one set per worker process.
 */
export function notifyProcessor(deps: {
  database: DatabaseHandle;
  log: Logger;
  queues: Pick<Queues, 'notify'>;
  breakers?: ChannelBreakers;
  dispatch?: DispatchOptions;
}) {
  const breakers = deps.breakers ?? new ChannelBreakers();
  return defineProcessor(
    notifyQueue,
    { db: deps.database.db, log: deps.log },
    {
      'dispatch-notifications': (ctx) =>
        dispatchNotifications(ctx, (deliveries) => enqueueDeliveries(deps.queues, deliveries), deps.dispatch),
      'deliver-notification': (ctx, payload) =>
        deliverNotification(ctx, breakers, payload, { last: ctx.job.attempt >= ctx.job.attempts }),
    },
  );
}
