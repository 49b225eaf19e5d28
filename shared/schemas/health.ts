/**
 * What administrators see of the processes' health (`health.details`) and of the job queues (`admin.queues.stats`).
 * Nothing here is a secret: latencies, counts, states and short error codes.
 */
import { z } from 'zod';
import { BROKERS } from '../enums.ts';
import { QUEUE_NAMES } from '../jobs.ts';

/** BullMQ's job states, as counted by `Queue.getJobCounts`. */
export const QUEUE_JOB_STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'paused',
  'failed',
  'completed',
] as const;
export type QueueJobState = (typeof QUEUE_JOB_STATES)[number];

export const BREAKER_STATES = ['closed', 'open', 'half_open'] as const;

export const queueCounts = z.record(z.enum(QUEUE_JOB_STATES), z.number().int().nonnegative());
export type QueueCounts = z.infer<typeof queueCounts>;

/** Every queue's job counts, read from Redis at `readAt` (the reader may answer from a copy a few seconds old). */
export const queueStats = z.object({
  queues: z.array(z.object({ name: z.enum(QUEUE_NAMES), counts: queueCounts })),
  readAt: z.date(),
});
export type QueueStats = z.infer<typeof queueStats>;

/** A MySQL pool of a process: its size limit, open connections (busy or idle) and requests waiting for one. */
export const poolStats = z.object({
  limit: z.number().int().nonnegative(),
  open: z.number().int().nonnegative(),
  inUse: z.number().int().nonnegative(),
  idle: z.number().int().nonnegative(),
  waiting: z.number().int().nonnegative(),
});
export type PoolStats = z.infer<typeof poolStats>;

export const componentHealth = z.object({
  ok: z.boolean(),
  latencyMs: z.number(),
  error: z.string().optional(),
});

export const INSTANCE_ROLES = ['api', 'worker'] as const;
export type InstanceRole = (typeof INSTANCE_ROLES)[number];

/** One connection's breaker in one process; `failures` counts failed calls in its rolling window. */
export const breakerDetail = z.object({
  connectionId: z.number(),
  broker: z.enum(BROKERS),
  state: z.enum(BREAKER_STATES),
  failures: z.number().int().nonnegative(),
});
export type BreakerDetail = z.infer<typeof breakerDetail>;

/**
 * A live api or worker process as it last described itself in Redis (every ~10 s): its breakers, its MySQL pools
 * (`replica` only on an api with DATABASE_READ_URL) and, on a worker, each queue's concurrency and jobs running now.
 */
export const instanceHealth = z.object({
  role: z.enum(INSTANCE_ROLES),
  /** `<hostname>:<pid>`. */
  id: z.string(),
  startedAt: z.date(),
  version: z.string().nullable(),
  draining: z.boolean(),
  /** How old the snapshot was when read: a process that stopped publishing disappears once it expires. */
  snapshotAgeMs: z.number().int().nonnegative(),
  breakers: z.array(breakerDetail),
  pools: z.object({ primary: poolStats, replica: poolStats.optional() }),
  queues: z.array(
    z.object({
      name: z.enum(QUEUE_NAMES),
      concurrency: z.number().int().nonnegative(),
      active: z.number().int().nonnegative(),
    }),
  ),
});
export type InstanceHealth = z.infer<typeof instanceHealth>;

export const healthDetails = z.object({
  status: z.enum(['ok', 'degraded']),
  draining: z.boolean(),
  components: z.object({ database: componentHealth, redis: componentHealth, migrations: componentHealth }),
  /** The breakers of the process that answered (each api and worker process keeps its own per connection). */
  breakers: z.array(z.object({ connectionId: z.number(), broker: z.enum(BROKERS), state: z.enum(BREAKER_STATES) })),
  /** Null when the queues could not be read (Redis down); `queuesError` then says why. */
  queues: queueStats.nullable(),
  queuesError: z.string().optional(),
  /** Null when the database could not be read. */
  deadLetters: z.object({ open: z.number().int().nonnegative() }).nullable(),
  pool: poolStats,
  process: z.object({ uptimeS: z.number(), rssBytes: z.number(), heapUsedBytes: z.number() }),
  /**
   * Every live api and worker process, this one included, sorted by role then id. Null when Redis could not be read;
   * `instancesError` then says why.
   */
  instances: z.array(instanceHealth).nullable(),
  instancesError: z.string().optional(),
});
export type HealthDetails = z.infer<typeof healthDetails>;
