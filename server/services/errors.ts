/**
 * The typed errors services throw (the base class lives in server/lib/service-error.ts, the broker errors in
 * server/brokers/errors.ts). One tRPC middleware, one HTTP mapper and the job runner turn them into answers.
 */
import { ServiceError } from '../lib/service-error.ts';

export { BrokerAuthExpired, BrokerRejected, BrokerUnavailable } from '../brokers/errors.ts';
export { ServiceError };

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

/** Input that passed the schema but breaks a business rule (e.g. a password equal to the email). */
export class InvalidInput extends ServiceError {
  readonly code = 'validation-failed';
  readonly status = 400;
}
