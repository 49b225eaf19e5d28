/**
 * Stable, kebab-case error codes shared by the API and the React app. tRPC answers carry one as `data.appCode`;
 * the HTTP routes answer `{ok:false, code, message, requestId}`. Codes are part of the public contract: add, never
 * rename.
 */
export const APP_ERROR_CODES = [
  'validation-failed',
  'bad-request',
  'malformed-payload',
  'unsupported-media-type',
  'method-not-allowed',
  'not-found',
  'conflict',
  'forbidden',
  'unauthorized',
  'precondition-failed',
  'rate-limited',
  'payload-too-large',
  'batch-too-large',
  'broker-unavailable',
  'broker-rejected',
  'broker-session-expired',
  'service-unavailable',
  'internal-error',
] as const;

export type AppErrorCode = (typeof APP_ERROR_CODES)[number];

/** The body of every error answered by a plain HTTP route. */
export interface HttpErrorBody {
  ok: false;
  code: string;
  message: string;
  requestId?: string;
  id?: number;
}
