/**
 * Queue names and job payloads, shared by producers and consumers. Payloads carry ids, never secrets: BullMQ stores
 * job data in Redis in clear text.
 */
import { z } from 'zod';

export const QUEUE_NAMES = [
  'signals',
  'orders',
  'order-status',
  'reconcile',
  'sessions',
  'notify',
  'dead-letters',
  'maintenance',
] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export const MAINTENANCE_JOBS = ['purge-expired-sessions'] as const;
export const maintenanceJobSchema = z.object({}).strict();
export type MaintenanceJob = z.infer<typeof maintenanceJobSchema>;
