/**
 * `POST /api/v1/webhooks/tradingview/:token` (SPEC §4): thin. The body is read as text whatever its content type
 * (TradingView sends text/plain as soon as one character is not JSON, and the parser reads both), capped at 64 KiB
 * for this route only, and handed with the token to ingestAlert, whose answer is sent as is. The token is never
 * logged: the request logger redacts it from URLs (server/lib/logger.ts) and nothing here logs it.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../lib/logger.ts';
import { countWebhookAlert } from '../lib/metrics.ts';
import {
  type IngestSources,
  ingestAlert,
  WEBHOOK_BODY_LIMIT_BYTES,
  webhookIngestDeps,
} from '../services/webhooks/ingest.ts';

export const TRADINGVIEW_ROUTE = '/api/v1/webhooks/tradingview/:token';

export async function registerTradingViewRoute(app: FastifyInstance, sources: IngestSources, log: Logger) {
  const deps = webhookIngestDeps(sources, log);
  // An encapsulated scope: its content-type parsers replace the app's only here, so the rest of the api still
  // parses JSON under BODY_LIMIT_BYTES.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'string', bodyLimit: WEBHOOK_BODY_LIMIT_BYTES },
      (_request, body, done) => done(null, body),
    );
    scope.post<{ Params: { token: string } }>(
      TRADINGVIEW_ROUTE,
      { bodyLimit: WEBHOOK_BODY_LIMIT_BYTES },
      async (request, reply) => {
        const result = await ingestAlert(deps, {
          lookup: { kind: 'token', token: request.params.token },
          rawBody: typeof request.body === 'string' ? request.body : '',
          contentType: request.headers['content-type'],
          sourceIp: request.ip,
          source: 'tradingview',
          requestId: request.id,
          log: request.log,
        });
        countWebhookAlert(result.httpStatus, result.body);
        if (result.retryAfterS !== undefined) reply.header('retry-after', String(result.retryAfterS));
        const body = result.body.ok ? result.body : { ...result.body, requestId: request.id };
        return reply.status(result.httpStatus).send(body);
      },
    );
  });
}
