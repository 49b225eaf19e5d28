import type { IngestAnswer, SimulateSignalInput } from '#shared/schemas/webhooks.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { InvalidInput, NotFound, Precondition, RateLimited, ServiceUnavailable } from '../errors.ts';
import { type IngestResult, type IngestSources, ingestAlert, webhookIngestDeps } from './ingest.ts';

/**
 * webhooks.simulateSignal: runs an alert through the webhook pipeline (ingest.ts) as if TradingView had sent it to
 * the caller's strategy, chosen by id for the caller (not by token, so no passphrase, source address or per-strategy
 * rate check: the caller is signed in and rate-limited by tRPC). The log is written with source `simulation` and an
 * accepted alert is enqueued like a real one. A text payload is sent as is (so a malformed body can be tried); an
 * object is serialized as JSON.
 */
export async function simulateSignal(
  ctx: ServiceContext,
  sources: IngestSources,
  input: SimulateSignalInput,
): Promise<IngestAnswer> {
  const rawBody = typeof input.payload === 'string' ? input.payload : JSON.stringify(input.payload);
  const result = await ingestAlert(webhookIngestDeps(sources, ctx.log), {
    lookup: { kind: 'owner', strategyId: input.strategyId, userId: actingUserId(ctx) },
    rawBody,
    contentType: contentTypeOf(rawBody),
    sourceIp: ctx.ip,
    source: 'simulation',
    requestId: ctx.requestId,
    log: ctx.log,
  });
  return ingestAnswerOf(result);
}

/** What TradingView sends: application/json when the message is valid JSON, text/plain otherwise. */
export function contentTypeOf(rawBody: string): string {
  try {
    JSON.parse(rawBody);
    return 'application/json';
  } catch {
    return 'text/plain; charset=utf-8';
  }
}

/**
 * The route's answer as a procedure's: every outcome that wrote a log is an answer; an outcome that wrote none
 * (the strategy is not the caller's, the database is down…) is the matching typed error.
 */
export function ingestAnswerOf(result: IngestResult): IngestAnswer {
  const body = result.body;
  if (body.ok) return body;
  if (body.id !== undefined)
    return { ok: false, id: body.id, status: 'rejected', code: body.code, message: body.message };
  switch (body.code) {
    case 'not-found':
      throw new NotFound('Strategy');
    case 'service-unavailable':
      throw new ServiceUnavailable(body.message);
    case 'payload-too-large':
      throw new InvalidInput(body.message);
    case 'rate-limited':
      throw new RateLimited(body.message, result.retryAfterS ?? 1);
    default:
      throw new Precondition(body.message);
  }
}
