/**
 * The typed errors services throw. One tRPC middleware (server/trpc/middleware/service-errors.ts), one HTTP mapper
 * (server/http/errors.ts) and the job runner turn them into answers; anything else is an unexpected error and is
 * masked. `code` is the stable app code, `status` the HTTP status it maps to.
 */
import type { AppErrorCode } from '#shared/errors.ts';

export abstract class ServiceError extends Error {
  abstract readonly code: AppErrorCode;
  abstract readonly status: number;
  /** Whether a job that hits this error may succeed on a later attempt. */
  readonly retryable: boolean = false;
}

export class NotFound extends ServiceError {
  readonly code = 'not-found';
  readonly status = 404;
  constructor(resource: string) {
    super(`${resource} not found`);
  }
}

export class Conflict extends ServiceError {
  readonly code = 'conflict';
  readonly status = 409;
}

export class Forbidden extends ServiceError {
  readonly code = 'forbidden';
  readonly status = 403;
}

export class Unauthorized extends ServiceError {
  readonly code = 'unauthorized';
  readonly status = 401;
}

export class Precondition extends ServiceError {
  readonly code = 'precondition-failed';
  readonly status = 412;
}

export class RateLimited extends ServiceError {
  readonly code = 'rate-limited';
  readonly status = 429;
  readonly retryAfterS: number;
  constructor(message: string, retryAfterS: number) {
    super(message);
    this.retryAfterS = Math.max(1, Math.ceil(retryAfterS));
  }
}

export class ServiceUnavailable extends ServiceError {
  readonly code = 'service-unavailable';
  readonly status = 503;
  override readonly retryable = true;
}

/** The broker could not be reached or asked us to slow down: try again later. */
export class BrokerUnavailable extends ServiceError {
  readonly code = 'broker-unavailable';
  readonly status = 503;
  override readonly retryable = true;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: { retryAfterMs?: number; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** The broker refused the order for good (buying power, invalid order): retrying cannot help. */
export class BrokerRejected extends ServiceError {
  readonly code = 'broker-rejected';
  readonly status = 422;
}

/** Input that passed the schema but breaks a business rule (e.g. a password equal to the email). */
export class InvalidInput extends ServiceError {
  readonly code = 'validation-failed';
  readonly status = 400;
}
