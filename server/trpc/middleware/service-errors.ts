/**
 * The one place typed service errors become tRPC errors, and the one place unexpected errors are logged. The HTTP
 * routes use the same table through server/http/errors.ts.
 */
import { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import type { AppErrorCode } from '#shared/errors.ts';
import { ServiceError } from '../../services/errors.ts';
import type { TrpcContext } from '../context.ts';

const TRPC_CODE_BY_STATUS: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  412: 'PRECONDITION_FAILED',
  413: 'PAYLOAD_TOO_LARGE',
  422: 'UNPROCESSABLE_CONTENT',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

const APP_CODE_BY_TRPC_CODE: Partial<Record<TRPC_ERROR_CODE_KEY, AppErrorCode>> = {
  BAD_REQUEST: 'validation-failed',
  PARSE_ERROR: 'validation-failed',
  UNAUTHORIZED: 'unauthorized',
  FORBIDDEN: 'forbidden',
  NOT_FOUND: 'not-found',
  CONFLICT: 'conflict',
  PRECONDITION_FAILED: 'precondition-failed',
  PAYLOAD_TOO_LARGE: 'payload-too-large',
  TOO_MANY_REQUESTS: 'rate-limited',
  SERVICE_UNAVAILABLE: 'service-unavailable',
  UNSUPPORTED_MEDIA_TYPE: 'unsupported-media-type',
  METHOD_NOT_SUPPORTED: 'method-not-allowed',
  UNPROCESSABLE_CONTENT: 'validation-failed',
};

// tRPC refuses oversized batches (maxBatchSize) before any context exists, with this message and BAD_REQUEST.
const BATCH_TOO_LARGE_MESSAGE = 'Batch call exceeds maximum size';

export function appCodeFor(error: TRPCError): AppErrorCode {
  if (error.cause instanceof ServiceError) return error.cause.code;
  if (error.code === 'BAD_REQUEST' && error.message === BATCH_TOO_LARGE_MESSAGE) return 'batch-too-large';
  return APP_CODE_BY_TRPC_CODE[error.code] ?? 'internal-error';
}

export function toTrpcError(error: ServiceError): TRPCError {
  return new TRPCError({
    code: TRPC_CODE_BY_STATUS[error.status] ?? 'INTERNAL_SERVER_ERROR',
    message: error.message,
    cause: error,
  });
}

/**
 * Maps ServiceError → TRPCError and logs anything unexpected with the request id (the formatter then masks it).
 * Returns the error the procedure should fail with.
 */
export function translateProcedureError(error: TRPCError, ctx: TrpcContext, path: string, type: string): TRPCError {
  if (error.cause instanceof ServiceError) return toTrpcError(error.cause);
  if (error.code === 'INTERNAL_SERVER_ERROR') {
    ctx.log.error({ err: error.cause ?? error, path, type }, 'unexpected procedure error');
  }
  return error;
}
