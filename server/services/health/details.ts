/**
 * What administrators see of the system's health: `health.details` (per-component latency, this process's breakers,
 * queue depths, open dead letters, pool statistics, and every live api and worker process with its breakers and
 * pools, from the snapshots they publish: instances.ts) and `admin.queues.stats`. Every part is read in parallel and a
 * part that cannot be read is reported as such, never failing the whole answer: these pages matter most when
 * something is down.
 */
import { count, eq } from 'drizzle-orm';
import { deadLetters } from '#drizzle/schema/dead_letters.ts';
import type { HealthDetails, InstanceHealth, QueueStats } from '#shared/schemas/health.ts';
import type { BreakerReport } from '../../brokers/registry.ts';
import type { ReadQueueStats } from '../../jobs/queue-stats.ts';
import type { ServiceContext } from '../context.ts';
import { ServiceUnavailable } from '../errors.ts';
import { readInstances } from './instances.ts';
import { checkReadiness, type HealthProbes } from './readiness.ts';

export interface HealthDetailSources extends HealthProbes {
  brokers: { breakerStates(): BreakerReport[] };
  /** Absent where the process holds no queues; the queue parts then read as unavailable. */
  readQueueStats?: ReadQueueStats;
}

const READ_TIMEOUT_MS = 1_500;

function withDeadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${READ_TIMEOUT_MS} ms`)), READ_TIMEOUT_MS);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** A short reason: an error code or the first line of the message, nothing more. */
function reason(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') return error.code;
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]?.slice(0, 120) ?? 'unknown error';
}

async function countOpenDeadLetters(ctx: ServiceContext): Promise<number> {
  // Served by dead_letters_status_created_at_idx.
  const [row] = await ctx.db.select({ open: count() }).from(deadLetters).where(eq(deadLetters.status, 'open'));
  return Number(row?.open ?? 0);
}

export async function healthDetails(ctx: ServiceContext, sources: HealthDetailSources): Promise<HealthDetails> {
  const [readiness, queues, openDeadLetters, instances] = await Promise.all([
    checkReadiness(sources),
    sources.readQueueStats
      ? withDeadline(sources.readQueueStats(), 'queue read').then(
          (stats): { stats: QueueStats | null; error?: string } => ({ stats }),
          (error: unknown) => ({ stats: null, error: reason(error) }),
        )
      : Promise.resolve({ stats: null, error: 'no queues in this process' }),
    withDeadline(countOpenDeadLetters(ctx), 'dead letter count').catch(() => null),
    withDeadline(readInstances(sources.redis), 'instance read').then(
      (list): { list: InstanceHealth[] | null; error?: string } => ({ list }),
      (error: unknown) => ({ list: null, error: reason(error) }),
    ),
  ]);
  const memory = process.memoryUsage();
  return {
    status: readiness.ready ? 'ok' : 'degraded',
    draining: readiness.draining,
    components: readiness.components,
    breakers: sources.brokers.breakerStates(),
    queues: queues.stats,
    ...(queues.error === undefined ? {} : { queuesError: queues.error }),
    deadLetters: openDeadLetters === null ? null : { open: openDeadLetters },
    pool: sources.database.poolStats(),
    process: {
      uptimeS: Math.round(process.uptime()),
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
    },
    instances: instances.list,
    ...(instances.error === undefined ? {} : { instancesError: instances.error }),
  };
}

/** admin.queues.stats: every queue's job counts, read from Redis now. */
export async function getQueueStats(reader: ReadQueueStats | undefined): Promise<QueueStats> {
  if (!reader) throw new ServiceUnavailable('Queue statistics are not available in this process');
  try {
    return await withDeadline(reader(0), 'queue read');
  } catch (error) {
    throw new ServiceUnavailable(`The job queues cannot be read right now (${reason(error)})`, { cause: error });
  }
}
