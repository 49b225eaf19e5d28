/**
 * Queue names, job names and job payloads, shared by producers (server/jobs/enqueue.ts) and consumers
 * (server/jobs/run-processor.ts): both validate against the same schema, looked up by queue and job name. Payloads
 * carry ids, never secrets or user text: BullMQ stores job data in Redis in clear text, and a processor reloads
 * everything else from the database, so a retried job always sees the current row.
 */
import { z } from 'zod';
import { idSchema } from './schemas/common.ts';

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

/** Scheduled housekeeping carries no data: the scheduler's template is `{}`. */
const noData = z.object({}).strict();

/** Every job each queue accepts: job name → payload schema. A queue's processor must handle every name listed. */
export const JOB_PAYLOADS = {
  // One job per accepted webhook log, job id signalJobId(log id).
  signals: { 'execute-signal': z.object({ webhookLogId: idSchema }).strict() },
  // One job per order, job id orderJobId(order id).
  orders: { 'submit-order': z.object({ orderId: idSchema }).strict() },
  // A chain per order: each poll adds the next (`poll` + 1) until the order is final; job id orderPollJobId.
  'order-status': {
    'poll-order-status': z
      .object({ orderId: idSchema, poll: z.number().int().min(0).max(1_000_000).optional() })
      .strict(),
  },
  // One scheduler per connection that needs reconciling (`reconcile-<id>`), plus the step that keeps that set in
  // line with the database.
  reconcile: { 'reconcile-connection': z.object({ connectionId: idSchema }).strict(), 'sync-schedulers': noData },
  // One scheduler per live connection (`session-<id>`), plus the step that keeps that set in line with the database.
  sessions: { 'refresh-session': z.object({ connectionId: idSchema }).strict(), 'sync-schedulers': noData },
  // One delivery per notification and channel, so a failing channel is retried without re-sending to the others;
  // job id deliveryJobId. The scheduled dispatch fans undispatched notifications out into those deliveries.
  notify: {
    'deliver-notification': z.object({ notificationId: idSchema, channelId: idSchema }).strict(),
    'dispatch-notifications': noData,
  },
  // The failed job itself stays in Redis (removeOnFail), so the recorder reads its data and reason from there.
  'dead-letters': {
    'record-dead-letter': z.object({ queue: z.enum(QUEUE_NAMES), jobId: z.string().min(1).max(255) }).strict(),
  },
  maintenance: {
    'purge-expired-sessions': noData,
    'outbox-sweep': noData,
    'expire-staged': noData,
    'prune-webhook-bodies': noData,
    'purge-dead-letters': noData,
    'purge-reconciliation-runs': noData,
  },
} as const satisfies Record<QueueName, Record<string, z.ZodType>>;

export type JobName<Q extends QueueName> = keyof (typeof JOB_PAYLOADS)[Q] & string;
type PayloadSchema<Q extends QueueName, N extends JobName<Q>> = (typeof JOB_PAYLOADS)[Q][N];
export type JobPayload<Q extends QueueName, N extends JobName<Q>> =
  PayloadSchema<Q, N> extends z.ZodType ? z.infer<PayloadSchema<Q, N>> : never;

/** The payload schema of `name` on `queue`, or undefined for a job name the queue does not know. */
export function jobPayloadSchema(queue: QueueName, name: string): z.ZodType | undefined {
  const schemas: Record<string, z.ZodType> = JOB_PAYLOADS[queue];
  return Object.hasOwn(schemas, name) ? schemas[name] : undefined;
}

/**
 * The job id of a webhook log's signal job. Deriving it from the log id makes enqueueing idempotent: BullMQ ignores
 * an add whose id is already in the queue. Prefixed because BullMQ refuses custom ids that are plain integers
 * ("Custom Id cannot be integers", which would clash with its own counter ids) and ids containing `:`.
 */
export function signalJobId(webhookLogId: number): string {
  return `log-${webhookLogId}`;
}

/**
 * The signal job of a log whose staged signal the trader approved: the log runs a second time, and its first job
 * (`log-<id>`) may still be stored in Redis, where BullMQ would ignore an add under the same id.
 */
export function approvedSignalJobId(webhookLogId: number): string {
  return `log-${webhookLogId}-approved`;
}

/** The submit job of an order: one per order, so a second enqueue (outbox sweep, crash recovery) adds nothing. */
export function orderJobId(orderId: number): string {
  return `order-${orderId}`;
}

/** One status poll of an order: the chain's step number keeps each poll's id distinct and each step single. */
export function orderPollJobId(orderId: number, poll: number): string {
  return `status-${orderId}-${poll}`;
}

/** The delivery of one notification to one channel: the dispatch sweep may add it twice, BullMQ keeps one. */
export function deliveryJobId(notificationId: number, channelId: number): string {
  return `notify-${notificationId}-${channelId}`;
}
