/** Every queue's config, by queue name: what the worker, the producers and health details iterate over. */
import type { QueueName } from '#shared/jobs.ts';
import type { QueueConfig } from '../queue-factory.ts';
import { deadLettersQueue } from './dead-letters.ts';
import { maintenanceQueue } from './maintenance.ts';
import { notifyQueue } from './notify.ts';
import { orderStatusQueue } from './order-status.ts';
import { ordersQueue } from './orders.ts';
import { reconcileQueue } from './reconcile.ts';
import { sessionsQueue } from './sessions.ts';
import { signalsQueue } from './signals.ts';

export {
  deadLettersQueue,
  maintenanceQueue,
  notifyQueue,
  orderStatusQueue,
  ordersQueue,
  reconcileQueue,
  sessionsQueue,
  signalsQueue,
};

export const QUEUE_CONFIGS: { [Q in QueueName]: QueueConfig<Q> } = {
  signals: signalsQueue,
  orders: ordersQueue,
  'order-status': orderStatusQueue,
  reconcile: reconcileQueue,
  sessions: sessionsQueue,
  notify: notifyQueue,
  'dead-letters': deadLettersQueue,
  maintenance: maintenanceQueue,
};
