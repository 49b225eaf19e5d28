/**
 * Error answers of the plain HTTP routes: `{ok:false, code, message, requestId}` with the same stable codes as tRPC.
 * Unexpected errors are logged, reported to Sentry and masked; Fastify's own errors (body too large, bad JSON) keep
 * their status.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpErrorBody } from '#shared/errors.ts';
import { reportError } from '../lib/sentry.ts';
import { RateLimited, ServiceError } from '../services/errors.ts';

const FASTIFY_CODES: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload-too-large', message: 'Request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported-media-type', message: 'Unsupported content type' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'malformed-payload', message: 'Body must not be empty' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'malformed-payload', message: 'Invalid content length' },
};

export function sendHttpError(reply: FastifyReply, status: number, body: Omit<HttpErrorBody, 'ok' | 'requestId'>) {
  const payload: HttpErrorBody = { ok: false, ...body, requestId: reply.request.id };
  return reply.status(status).send(payload);
}

export function httpErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof ServiceError) {
    if (error instanceof RateLimited) reply.header('retry-after', String(error.retryAfterS));
    return sendHttpError(reply, error.status, { code: error.code, message: error.message });
  }
  const known = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (known) return sendHttpError(reply, known.status, { code: known.code, message: known.message });
  if (error.validation || (error.statusCode === 400 && error.code === undefined)) {
    return sendHttpError(reply, 400, { code: 'malformed-payload', message: 'Request body is not valid JSON' });
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return sendHttpError(reply, error.statusCode, { code: 'bad-request', message: 'The request could not be read' });
  }
  request.log.error({ err: error }, 'unexpected route error');
  reportError(error, { requestId: request.id, route: request.routeOptions.url });
  return sendHttpError(reply, 500, { code: 'internal-error', message: 'Internal server error' });
}
