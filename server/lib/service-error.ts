import type { AppErrorCode } from '#shared/errors.ts';

/**
 * The base of every typed error a service or broker adapter throws. One tRPC middleware, one HTTP mapper and the job
 * runner turn them into answers; anything else is an unexpected error and is masked. `code` is the stable app code,
 * `status` the HTTP status it maps to.
 */
export abstract class ServiceError extends Error {
  abstract readonly code: AppErrorCode;
  abstract readonly status: number;
  /** Whether a job that hits this error may succeed on a later attempt. */
  readonly retryable: boolean = false;
}
