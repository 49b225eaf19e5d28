/**
 * The one way a queue's jobs reach service code. defineProcessor validates each payload against the schema its
 * producer used (shared/jobs.ts, by queue and job name), gives the handler a ServiceContext with a per-job child
 * logger, and decides whether a failure is worth retrying:
 * - a payload that does not validate, an unknown job name, and every typed error that a retry cannot change
 *   (not found, precondition, invalid input, forbidden, conflict, broker rejected, broker session expired…) become
 *   a FinalJobError: an UnrecoverableError, so BullMQ fails the job at once whatever its `attempts`;
 * - typed errors marked `retryable` (broker or service unavailable), rate limits and unexpected errors are thrown
 *   again, so BullMQ retries them with the queue's backoff until its attempts run out.
 * Unexpected errors leave only a scrubbed message in Redis (job.failedReason and stacktrace are stored in clear
 * text, and database errors carry bound values); the full error is logged once, scrubbed by the logger, and each
 * such attempt is reported to Sentry with the job's queue, name and id.
 */
import {
  DelayedError,
  type Job,
  type Processor,
  RateLimitError,
  UnrecoverableError,
  WaitingChildrenError,
  WaitingError,
} from 'bullmq';
import { type JobName, type JobPayload, jobPayloadSchema, type QueueName } from '#shared/jobs.ts';
import type { Logger } from '../lib/logger.ts';
import { scrubError } from '../lib/scrub.ts';
import { reportError } from '../lib/sentry.ts';
import type { ServiceContext } from '../services/context.ts';
import { RateLimited, ServiceError } from '../services/errors.ts';
import type { QueueConfig } from './queue-factory.ts';

export interface JobInfo {
  queue: QueueName;
  name: string;
  id: string;
  /** 1 on the first run; counts failed attempts, not stalls. */
  attempt: number;
  /** The job's `attempts` option: the attempt after which BullMQ gives up. */
  attempts: number;
  /** Epoch ms the job was added (a signal job's: just after its alert was logged), for latency metrics. */
  createdAt: number;
}

/** What a handler receives: a system-actor ServiceContext for service verbs, plus the job's identity. */
export interface JobContext extends ServiceContext {
  job: JobInfo;
}

/**
 * One handler per job name the queue accepts; the compiler insists on all of them. The result is stored in Redis as
 * the job's return value: keep it small and free of secrets (counts, ids, a status).
 */
export type JobHandlers<Q extends QueueName> = {
  [N in JobName<Q>]: (ctx: JobContext, payload: JobPayload<Q, N>) => Promise<unknown>;
};

export interface ProcessorDeps {
  db: ServiceContext['db'];
  log: Logger;
}

/** A failure no retry can fix. `code` is the app error code (shared/errors.ts) of its cause. */
export class FinalJobError extends UnrecoverableError {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** An unexpected error as BullMQ will store it: the scrubbed message and frames, nothing else. */
class JobAttemptError extends Error {
  constructor(error: unknown) {
    const scrubbed = scrubError(error);
    super(String(scrubbed.message ?? 'job failed'));
    this.name = String(scrubbed.type ?? 'Error');
    if (typeof scrubbed.stack === 'string') this.stack = scrubbed.stack;
  }
}

/** BullMQ's own control-flow errors (move to delayed, wait for children, rate limit) pass through untouched. */
function isBullControlFlow(error: unknown): boolean {
  return (
    error instanceof UnrecoverableError ||
    error instanceof DelayedError ||
    error instanceof WaitingChildrenError ||
    error instanceof WaitingError ||
    error instanceof RateLimitError
  );
}

export function defineProcessor<Q extends QueueName>(
  config: QueueConfig<Q>,
  deps: ProcessorDeps,
  handlers: JobHandlers<Q>,
): Processor {
  const byName = handlers as unknown as Record<string, (ctx: JobContext, payload: unknown) => Promise<unknown>>;
  return async (job: Job) => {
    const info: JobInfo = {
      queue: config.name,
      name: job.name,
      id: String(job.id),
      attempt: job.attemptsMade + 1,
      attempts: job.opts.attempts ?? 1,
      createdAt: job.timestamp,
    };
    const log = deps.log.child({ queue: info.queue, job: info.name, jobId: info.id, attempt: info.attempt });
    const handler = Object.hasOwn(byName, job.name) ? byName[job.name] : undefined;
    const schema = jobPayloadSchema(config.name, job.name);
    if (!handler || !schema) {
      log.warn('unknown job name');
      throw new FinalJobError('validation-failed', `unknown ${config.name} job ${job.name}`);
    }
    const parsed = schema.safeParse(job.data);
    if (!parsed.success) {
      // Paths and issue codes only: the values themselves are not ours to log.
      log.warn({ issues: parsed.error.issues.map(({ path, code }) => ({ path, code })) }, 'invalid job payload');
      throw new FinalJobError('validation-failed', `invalid ${job.name} payload`);
    }
    const ctx: JobContext = {
      db: deps.db,
      log,
      requestId: `job:${info.queue}/${info.id}`.slice(0, 64),
      actor: { type: 'system', job: job.name },
      job: info,
    };
    try {
      return await handler(ctx, parsed.data);
    } catch (error) {
      throw classify(error, info, log);
    }
  };
}

/** The error to hand back to BullMQ for `error`, logged once. */
function classify(error: unknown, info: JobInfo, log: Logger): Error {
  if (isBullControlFlow(error)) return error as Error;
  const willRetry = info.attempt < info.attempts;
  if (error instanceof ServiceError) {
    if (error.retryable || error instanceof RateLimited) {
      log.warn({ code: error.code, message: error.message, willRetry }, 'job attempt failed');
      return error;
    }
    log.warn({ code: error.code, message: error.message }, 'job failed permanently');
    return new FinalJobError(error.code, error.message);
  }
  log.error({ err: error, willRetry }, 'job failed unexpectedly');
  reportError(error, { queue: info.queue, job: info.name, jobId: info.id, attempt: info.attempt });
  return new JobAttemptError(error);
}
