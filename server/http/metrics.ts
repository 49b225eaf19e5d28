/**
 * `GET /metrics` in Prometheus' text format (server/lib/metrics.ts), and the hook timing every HTTP request by route
 * template. With a token, a scrape must send `Authorization: Bearer <token>` (401 otherwise). The api serves
 * /metrics only when METRICS_TOKEN is set, since its port faces the internet; the worker's port carries nothing
 * but probes and metrics, so it serves them openly unless METRICS_TOKEN is set.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { METRICS_CONTENT_TYPE, observeHttpRequest, renderMetrics, startProcessMetrics } from '../lib/metrics.ts';
import { sendHttpError } from './errors.ts';

export const METRICS_PATH = '/metrics';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Constant-time comparison of the bearer token with the expected one (hashed first, so lengths never differ). */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const token = header?.match(/^Bearer (\S+)$/)?.[1];
  return token !== undefined && timingSafeEqual(digest(token), expected);
}

export function registerMetricsRoute(app: FastifyInstance, options: { token?: string }): void {
  startProcessMetrics();
  const expected = options.token === undefined ? undefined : digest(options.token);
  app.get(METRICS_PATH, async (request, reply) => {
    if (expected && !bearerMatches(request.headers.authorization, expected)) {
      reply.header('www-authenticate', 'Bearer');
      return sendHttpError(reply, 401, { code: 'unauthorized', message: 'A valid metrics token is required' });
    }
    const body = await renderMetrics();
    return reply.headers({ 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store' }).send(body);
  });
}

/** Times every response by its route template (`/api/v1/webhooks/tradingview/:token`, never the URL itself). */
export function observeHttpDurations(app: FastifyInstance): void {
  app.addHook('onResponse', (request, reply, done) => {
    observeHttpRequest(request.routeOptions.url, request.method, reply.statusCode, reply.elapsedTime);
    done();
  });
}
