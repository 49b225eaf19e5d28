/**
 * Every job scheduler, upserted by the worker at start-up. upsertJobScheduler is idempotent per scheduler id, so
 * every worker process registers all of them and N workers still produce one job per interval.
 */
import type { JobsOptions, Queue } from 'bullmq';
import type { JobName, JobPayload } from '#shared/jobs.ts';
import { env } from '../lib/env.ts';
import type { Logger } from '../lib/logger.ts';
import type { SessionIntervals, SessionSchedules } from '../services/brokers/sessions/schedules.ts';
import type { ReconcileSchedules } from '../services/reconcile/schedules.ts';
import { enqueue } from './enqueue.ts';
import type { Queues } from './queue-factory.ts';

interface Schedule<N extends JobName<'maintenance'> = JobName<'maintenance'>> {
  /** The scheduler id, also the job name. */
  name: N;
  everyMs: number;
  data: JobPayload<'maintenance', N>;
  /** Overrides of the queue's job options for this scheduler's jobs. */
  opts?: JobsOptions;
}

export const SCHEDULES: Schedule[] = [
  // Stale refresh sessions only cost space; hourly keeps the table small.
  { name: 'purge-expired-sessions', everyMs: 3_600_000, data: {} },
  // Raw bodies past WEBHOOK_RAW_RETENTION_DAYS: each run stops after its time budget (services/maintenance/batches.ts)
  // so the outbox sweep on this queue is never held up for long; every 10 min works off a backlog within hours.
  { name: 'prune-webhook-bodies', everyMs: 600_000, data: {} },
  // Dead letters resolved more than DLQ_RETENTION_DAYS ago; few rows, so hourly.
  { name: 'purge-dead-letters', everyMs: 3_600_000, data: {} },
  // Reconciliation runs older than RECONCILE_RUNS_RETENTION_DAYS; hourly keeps each run's backlog to an hour's runs.
  { name: 'purge-reconciliation-runs', everyMs: 3_600_000, data: {} },
  // Logs left `received` are enqueued within 30 s + 10 s; a failed sweep is not retried, the next one is 10 s away.
  { name: 'outbox-sweep', everyMs: 10_000, data: {}, opts: { attempts: 1 } },
  // Staged signals expire within 30 s of their expires_at, and an approval whose signal job was lost is re-added
  // within 30 s + 10 s; a failed run is not retried, the next one is 30 s away.
  { name: 'expire-staged', everyMs: 30_000, data: {}, opts: { attempts: 1 } },
];

/**
 * The notification outbox sweep runs on the notify queue, beside the deliveries it feeds, so the one-at-a-time
 * maintenance queue never delays notifications. New notifications reach their channels within about 2 s; a failed
 * sweep is not retried, the next one is 2 s away.
 */
export const NOTIFY_DISPATCH = {
  name: 'dispatch-notifications',
  everyMs: 2_000,
  data: {},
  opts: { attempts: 1 },
} as const satisfies {
  name: JobName<'notify'>;
  everyMs: number;
  data: JobPayload<'notify', 'dispatch-notifications'>;
  opts: JobsOptions;
};

/** Upserts every scheduler once; rejects when Redis does not answer. */
export async function upsertSchedulers(queues: Pick<Queues, 'maintenance' | 'notify'>): Promise<void> {
  for (const schedule of SCHEDULES) {
    await queues.maintenance.upsertJobScheduler(
      schedule.name,
      { every: schedule.everyMs },
      { name: schedule.name, data: schedule.data, opts: schedule.opts },
    );
  }
  await queues.notify.upsertJobScheduler(
    NOTIFY_DISPATCH.name,
    { every: NOTIFY_DISPATCH.everyMs },
    { name: NOTIFY_DISPATCH.name, data: NOTIFY_DISPATCH.data, opts: NOTIFY_DISPATCH.opts },
  );
}

/**
 * The step that keeps one `reconcile-<id>` scheduler per connection to reconcile (services/reconcile/schedules.ts):
 * a connection's scheduler follows a change of its strategies or rules within 30 s; a failed run is not retried,
 * the next one is 30 s away. Its first run, at start-up, repairs whatever a crash left behind.
 */
export const SYNC_RECONCILE_EVERY_MS = 30_000;

export async function upsertReconcileSync(queues: Pick<Queues, 'reconcile'>): Promise<void> {
  await queues.reconcile.upsertJobScheduler(
    'sync-schedulers',
    { every: SYNC_RECONCILE_EVERY_MS },
    { name: 'sync-schedulers', data: {}, opts: { attempts: 1 } },
  );
}

const RECONCILE_PREFIX = 'reconcile-';
// How long a scheduler change waits for a connection that has never been ready (see enqueue.ts: a BullMQ Queue
// sends nothing before its first `ready`, so without this a verb would hang for as long as Redis stays down).
const FIRST_CONNECT_WAIT_MS = 1_000;

async function ready(queue: Queue): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`job queue ${queue.name} is unavailable: Redis is not connected`)),
      FIRST_CONNECT_WAIT_MS,
    );
  });
  try {
    await Promise.race([queue.waitUntilReady(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The scheduler id of a connection's reconciliation (BullMQ derives its jobs' ids from it). */
export function reconcileSchedulerId(connectionId: number): string {
  return `${RECONCILE_PREFIX}${connectionId}`;
}

/**
 * Where in each interval a connection's runs fall: spread by a hash of its id, so a worker that schedules many
 * connections at once (the first sync, a deploy) does not start all their runs in the same second, and the same
 * connection keeps its slot across upserts.
 */
export function reconcileOffsetMs(connectionId: number, everyMs: number): number {
  let hash = 0x811c9dc5;
  for (const char of String(connectionId)) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return 1 + (hash % Math.max(1, everyMs - 1));
}

/**
 * A connection's reconciliation every `everyMs` (RECONCILE_INTERVAL_S by default), in its own slot of the interval
 * (reconcileOffsetMs): the first run comes within one interval. BullMQ keeps an existing scheduler's next run when
 * it is upserted again with the same interval.
 */
export function reconcileSchedules(
  queues: Pick<Queues, 'reconcile'>,
  everyMs = env.RECONCILE_INTERVAL_S * 1_000,
): ReconcileSchedules {
  return {
    everyMs,
    async upsert(connectionId) {
      await ready(queues.reconcile);
      await queues.reconcile.upsertJobScheduler(
        reconcileSchedulerId(connectionId),
        { every: everyMs, offset: reconcileOffsetMs(connectionId, everyMs) },
        { name: 'reconcile-connection', data: { connectionId } },
      );
    },
    async remove(connectionId) {
      await ready(queues.reconcile);
      await queues.reconcile.removeJobScheduler(reconcileSchedulerId(connectionId));
    },
    async list() {
      await ready(queues.reconcile);
      const schedulers = await queues.reconcile.getJobSchedulers(0, -1);
      return schedulers.flatMap((scheduler) => {
        const id = scheduler.id ?? scheduler.key;
        if (!id.startsWith(RECONCILE_PREFIX)) return [];
        const connectionId = Number(id.slice(RECONCILE_PREFIX.length));
        if (!Number.isSafeInteger(connectionId) || connectionId <= 0) return [];
        return [{ connectionId, everyMs: scheduler.every ?? null }];
      });
    },
  };
}

/**
 * An on-demand run of a connection's reconciliation. Deduplicated per connection while it waits or runs, so
 * repeated requests make one run; scheduled runs are separate jobs, and a run already in progress makes another one
 * skip (services/reconcile/runs.ts).
 */
export async function enqueueReconcileNow(queues: Pick<Queues, 'reconcile'>, connectionId: number): Promise<void> {
  await enqueue(
    queues.reconcile,
    'reconcile-connection',
    { connectionId },
    { deduplication: { id: `reconcile-now-${connectionId}` } },
  );
}

/**
 * The step that keeps one `session-<id>` scheduler per live connection (services/brokers/sessions/schedules.ts),
 * like the reconcile sync: every 30 s, not retried, its first run at start-up repairing what a crash left behind.
 */
export async function upsertSessionSync(queues: Pick<Queues, 'sessions'>): Promise<void> {
  await queues.sessions.upsertJobScheduler(
    'sync-schedulers',
    { every: SYNC_RECONCILE_EVERY_MS },
    { name: 'sync-schedulers', data: {}, opts: { attempts: 1 } },
  );
}

const SESSION_PREFIX = 'session-';

/** The scheduler id of a connection's session upkeep. */
export function sessionSchedulerId(connectionId: number): string {
  return `${SESSION_PREFIX}${connectionId}`;
}

export function sessionIntervalsFromEnv(): SessionIntervals {
  return {
    alpaca: env.ALPACA_SESSION_INTERVAL_S * 1_000,
    tradovate: env.TRADOVATE_SESSION_INTERVAL_S * 1_000,
    ibkr: env.IBKR_SESSION_INTERVAL_S * 1_000,
  };
}

/** A connection's session upkeep every `everyMs`, in its own slot of the interval (as reconcileSchedules). */
export function sessionSchedules(
  queues: Pick<Queues, 'sessions'>,
  intervals: SessionIntervals = sessionIntervalsFromEnv(),
): SessionSchedules {
  return {
    intervals,
    async upsert(connectionId, everyMs) {
      await ready(queues.sessions);
      await queues.sessions.upsertJobScheduler(
        sessionSchedulerId(connectionId),
        { every: everyMs, offset: reconcileOffsetMs(connectionId, everyMs) },
        { name: 'refresh-session', data: { connectionId } },
      );
    },
    async remove(connectionId) {
      await ready(queues.sessions);
      await queues.sessions.removeJobScheduler(sessionSchedulerId(connectionId));
    },
    async list() {
      await ready(queues.sessions);
      const schedulers = await queues.sessions.getJobSchedulers(0, -1);
      return schedulers.flatMap((scheduler) => {
        const id = scheduler.id ?? scheduler.key;
        if (!id.startsWith(SESSION_PREFIX)) return [];
        const connectionId = Number(id.slice(SESSION_PREFIX.length));
        if (!Number.isSafeInteger(connectionId) || connectionId <= 0) return [];
        return [{ connectionId, everyMs: scheduler.every ?? null }];
      });
    },
  };
}

/**
 * Redis may still be coming up when the worker starts, so registration retries (1 s more per attempt, at most
 * 10 s apart) until it succeeds or `stopping()` turns true. Resolves true once registered.
 */
export async function registerSchedulers(
  queues: Pick<Queues, 'maintenance' | 'notify' | 'reconcile' | 'sessions'>,
  options: { log: Logger; stopping: () => boolean },
): Promise<boolean> {
  for (let attempt = 1; !options.stopping(); attempt++) {
    try {
      await upsertSchedulers(queues);
      await upsertReconcileSync(queues);
      await upsertSessionSync(queues);
      return true;
    } catch (err) {
      options.log.warn({ err, attempt }, 'could not register job schedulers yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, Math.min(attempt * 1_000, 10_000)));
    }
  }
  return false;
}
