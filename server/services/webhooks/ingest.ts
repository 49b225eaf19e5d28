/**
 * TradingView ingestion, SPEC §4, in its order: size, strategy (cached token lookup), source address, per-strategy
 * rate, parse, normalize, decisions, deduplication, the durable log row, enqueue after commit, answer. The webhook
 * route calls it with the token from the URL; `webhooks.simulateSignal` and `webhooks.replay` call it for the
 * signed-in owner's strategy. Never throws for a request's content: every outcome is an answer.
 */
import type { WebhookSource } from '#shared/enums.ts';
import type { WebhookEvent } from '#shared/schemas/events.ts';
import type { SignalRejectionCode } from '#shared/schemas/signal.ts';
import type { Database } from '../../db/client.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import { env } from '../../lib/env.ts';
import type { Logger } from '../../lib/logger.ts';
import type { RedisClient } from '../../lib/redis-client.ts';
import { ServiceUnavailable } from '../errors.ts';
import { publishWebhookReceipt } from '../events/publish.ts';
import { extractPassphrase, normalizeSignal, parseAlertBody } from '../signals/parse.ts';
import { webhookTokenHash } from '../strategies/webhook-token.ts';
import { dedupPlan, writeAcceptedOrDuplicate } from './dedup.ts';
import { type AcceptedLogWriter, batchedLogWriter } from './log-batch.ts';
import { bounded, clip, insertLog, type WebhookLogInsert } from './log-store.ts';
import { passphraseMatches, redactPassphrases } from './passphrase.ts';
import { type WebhookRateLimiter, webhookRateLimiter } from './rate-limit.ts';
import { type StrategyCache, strategyCache } from './strategy-cache.ts';
import { findOwnedStrategy, findStrategyByTokenHash, type WebhookStrategy } from './webhook-strategy.ts';

/** SPEC §4 step 1 (the route's Fastify bodyLimit is the same number). */
export const WEBHOOK_BODY_LIMIT_BYTES = 64 * 1024;
/** All database work of one alert must fit in this, well inside TradingView's 3 s. */
const DB_BUDGET_MS = 2_000;
/** An enqueue slower than this is left to the outbox sweep (job ids make a late second add harmless). */
const ENQUEUE_TIMEOUT_MS = 750;
/** Issued tokens are 43 URL-safe characters: anything far from that shape is unknown without a lookup. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{16,128}$/;

export interface IngestDeps {
  /**
   * The primary: the log row is read back by the worker at once. webhooks.replay passes its transaction (the new log
   * and its audit row commit together) with an enqueueSignal that waits for that commit.
   */
  db: DbOrTx;
  log: Logger;
  /** Enqueues the signal job of a committed log (injected: services do not import server/jobs). */
  enqueueSignal(webhookLogId: number): Promise<unknown>;
  dedupWindowS: number;
  cache: StrategyCache;
  rateLimiter: WebhookRateLimiter;
  /** Group commit of accepted logs (./log-batch.ts); absent inside a caller's transaction (replay). */
  acceptedLogs?: AcceptedLogWriter;
  /** Epoch ms; tests move it to cross the dedup window or age a signal. */
  now(): number;
}

/** What the api process holds (AppDeps fits it), from which each caller builds IngestDeps. */
export interface IngestSources {
  database: { db: Database };
  /** The producer connection the webhook rate limits count on. */
  redis: RedisClient;
  enqueueSignal(webhookLogId: number): Promise<unknown>;
  ingest?: { dedupWindowS?: number; now?: () => number };
}

/** The route and the webhooks tRPC router build their deps the same way: `webhookIngestDeps(ctx.deps, ctx.log)`. */
export function webhookIngestDeps(sources: IngestSources, log: Logger): IngestDeps {
  return {
    db: sources.database.db,
    log,
    enqueueSignal: sources.enqueueSignal,
    dedupWindowS: sources.ingest?.dedupWindowS ?? env.DEDUP_WINDOW_S,
    cache: strategyCache,
    rateLimiter: webhookRateLimiter(sources.redis, log),
    acceptedLogs: batchedLogWriter(sources.database.db),
    now: sources.ingest?.now ?? Date.now,
  };
}

/**
 * Which strategy the alert is for. `token`: the webhook URL's token (TradingView) — the source address, the rate
 * limits and the passphrase are checked. `owner`: a signed-in owner's strategy (simulation, replay) — the caller is
 * already authenticated and rate-limited by tRPC, so those three checks are skipped; everything else applies.
 */
export type StrategyLookup = { kind: 'token'; token: string } | { kind: 'owner'; strategyId: number; userId: number };

export interface IngestInput {
  lookup: StrategyLookup;
  rawBody: string;
  contentType?: string;
  sourceIp?: string;
  /**
   * `tradingview` for the route, `simulation` for webhooks.simulateSignal, `replay` for webhooks.replay. A replay
   * is the trader asking to run a logged alert again, so it skips deduplication and the staleness check.
   */
  source: WebhookSource;
  requestId: string;
  /** The request's child logger; deps.log otherwise. */
  log?: Logger;
}

export type IngestErrorCode = SignalRejectionCode | 'not-found' | 'payload-too-large' | 'service-unavailable';

export type IngestBody =
  | { ok: true; id: number; status: 'accepted' }
  | { ok: true; id: number; status: 'duplicate'; duplicateOf: number }
  | { ok: false; code: IngestErrorCode; message: string; id?: number };

export interface IngestResult {
  /** 202 accepted, 200 duplicate, 4xx refused (with `body.id` when a log row was written), 503 unavailable. */
  httpStatus: number;
  body: IngestBody;
  /** Seconds, with 429: send as Retry-After. */
  retryAfterS?: number;
}

function refused(httpStatus: number, code: IngestErrorCode, message: string, id?: number): IngestResult {
  return { httpStatus, body: id === undefined ? { ok: false, code, message } : { ok: false, code, message, id } };
}

export async function ingestAlert(deps: IngestDeps, input: IngestInput): Promise<IngestResult> {
  const log = input.log ?? deps.log;
  try {
    return await ingest(deps, input, log);
  } catch (error) {
    if (!(error instanceof ServiceUnavailable)) throw error;
    log.warn({ err: error.cause ?? error }, 'webhook alert not ingested: service unavailable');
    return refused(503, 'service-unavailable', error.message);
  }
}

function findStrategy(deps: IngestDeps, lookup: StrategyLookup, deadline: number): Promise<WebhookStrategy | null> {
  if (lookup.kind === 'owner') {
    return bounded(findOwnedStrategy(deps.db, lookup.strategyId, lookup.userId), deadline, 'strategy lookup');
  }
  if (!TOKEN_SHAPE.test(lookup.token)) return Promise.resolve(null);
  const hash = webhookTokenHash(lookup.token);
  return deps.cache.get(hash, () => bounded(findStrategyByTokenHash(deps.db, hash), deadline, 'strategy lookup'));
}

async function ingest(deps: IngestDeps, input: IngestInput, log: Logger): Promise<IngestResult> {
  const startedAt = performance.now();
  const deadline = Date.now() + DB_BUDGET_MS;
  if (Buffer.byteLength(input.rawBody, 'utf8') > WEBHOOK_BODY_LIMIT_BYTES) {
    return refused(413, 'payload-too-large', `The alert body is larger than ${WEBHOOK_BODY_LIMIT_BYTES} bytes`);
  }
  const strategy = await findStrategy(deps, input.lookup, deadline);
  if (!strategy) return refused(404, 'not-found', 'No webhook at this address');

  const viaToken = input.lookup.kind === 'token';
  if (viaToken) {
    if (!strategy.ipAllowed(input.sourceIp)) {
      return refused(403, 'ip-not-allowed', `Alerts from ${input.sourceIp ?? 'this address'} are not allowed here`);
    }
    const rate = await deps.rateLimiter.consume(strategy);
    if (!rate.allowed) {
      const message = `This webhook takes ${strategy.ratePerMinute} alerts a minute and ${strategy.ratePerHour} an hour; retry in ${rate.retryAfterS} s`;
      return { ...refused(429, 'rate-limited', message), retryAfterS: rate.retryAfterS };
    }
  }

  const nowMs = deps.now();
  const parsed = parseAlertBody(input.rawBody, input.contentType);
  const normalized = parsed.ok ? normalizeSignal(parsed.value) : undefined;
  const signal = normalized?.ok ? normalized.signal : undefined;
  const row = (): WebhookLogInsert => ({
    strategyId: strategy.id,
    source: input.source,
    receivedAt: new Date(nowMs),
    sourceIp: clip(input.sourceIp, 45),
    contentType: clip(input.contentType, 255),
    rawBody: redactPassphrases(input.rawBody, parsed.ok ? parsed.value : undefined),
    payload: signal ?? null,
    requestId: clip(input.requestId, 64),
    processingMs: Math.round(performance.now() - startedAt),
  });
  // The owner's event streams hear of each logged alert once it is written. A replay writes inside the caller's
  // transaction, which has not committed yet: its answer is its receipt.
  const announce = (receipt: Pick<WebhookEvent, 'webhookLogId' | 'status' | 'code' | 'duplicateOf'>) => {
    if (input.source !== 'replay')
      publishWebhookReceipt(strategy.userId, { ...receipt, strategyId: strategy.id, source: input.source });
  };
  const reject = async (httpStatus: number, code: SignalRejectionCode, message: string) => {
    const id = await insertLog(
      deps.db,
      { ...row(), status: 'rejected', errorCode: code, errorMessage: clip(message, 1000) },
      deadline,
    );
    log.debug({ strategyId: strategy.id, webhookLogId: id, code }, 'webhook alert rejected');
    announce({ webhookLogId: id, status: 'rejected', code, duplicateOf: null });
    return refused(httpStatus, code, message, id);
  };

  const decision = await decide(strategy, parsed, viaToken);
  if (decision) return reject(...decision);
  if (!parsed.ok) return reject(400, parsed.code, parsed.message);
  if (normalized && !normalized.ok) return reject(400, normalized.code, normalized.message);
  if (!signal) return reject(400, 'malformed-payload', 'the alert could not be read as a signal');
  const replay = input.source === 'replay';
  const stale = replay ? undefined : staleness(strategy, signal.time, nowMs);
  if (stale) return reject(422, 'stale-signal', stale);

  const plan = replay ? undefined : dedupPlan(signal, input.rawBody, nowMs, deps.dedupWindowS);
  const outcome = deps.acceptedLogs
    ? await deps.acceptedLogs.accept(row(), plan, deadline)
    : await writeAcceptedOrDuplicate(deps.db, row(), plan, deadline);
  if (!outcome.accepted) {
    announce({ webhookLogId: outcome.id, status: 'duplicate', code: null, duplicateOf: outcome.duplicateOf });
    return {
      httpStatus: 200,
      body: { ok: true, id: outcome.id, status: 'duplicate', duplicateOf: outcome.duplicateOf },
    };
  }
  await enqueueAfterCommit(deps, outcome.id, log);
  announce({ webhookLogId: outcome.id, status: 'accepted', code: null, duplicateOf: null });
  return { httpStatus: 202, body: { ok: true, id: outcome.id, status: 'accepted' } };
}

type Decision = [httpStatus: number, code: SignalRejectionCode, message: string];

/**
 * What the strategy decides before the content is judged: the passphrase first (it authenticates the alert, so
 * nothing about the strategy's state is said to a sender without it), then pause, then the owner's trading switch.
 */
async function decide(
  strategy: WebhookStrategy,
  parsed: ReturnType<typeof parseAlertBody>,
  viaToken: boolean,
): Promise<Decision | undefined> {
  if (viaToken && strategy.passphraseHash !== null) {
    if (!parsed.ok) return [400, parsed.code, parsed.message];
    const candidate = extractPassphrase(parsed.value);
    if (!(await passphraseMatches(strategy.id, strategy.passphraseHash, candidate))) {
      return [401, 'invalid-passphrase', 'The alert passphrase is missing or wrong'];
    }
  }
  if (!strategy.isActive) return [409, 'strategy-paused', 'The strategy is paused: resume it to execute its alerts'];
  if (!strategy.tradingAllowed) {
    return [409, 'trading-disabled', 'Trading is switched off for this account, so no alert is executed'];
  }
  return undefined;
}

/** Why the signal is too old to act on, or undefined. 422: the alert is well formed but arrived too late. */
function staleness(strategy: WebhookStrategy, time: string | undefined, nowMs: number): string | undefined {
  if (time === undefined || strategy.maxSignalAgeS === null) return undefined;
  const ageMs = nowMs - Date.parse(time);
  if (ageMs <= strategy.maxSignalAgeS * 1000) return undefined;
  return `The alert's time ${time} is ${Math.floor(ageMs / 1000)} s old; this strategy takes alerts up to ${strategy.maxSignalAgeS} s old`;
}

/**
 * The log is committed; now its job. Redis down or slow is not the sender's problem: the answer is still 202 and
 * the outbox sweep enqueues the log, still `received`, about 30 s later.
 */
async function enqueueAfterCommit(deps: IngestDeps, webhookLogId: number, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      deps.enqueueSignal(webhookLogId),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`enqueue timed out after ${ENQUEUE_TIMEOUT_MS} ms`)),
          ENQUEUE_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (err) {
    log.warn({ err, webhookLogId }, 'signal job not enqueued; the outbox sweep will enqueue it');
  } finally {
    clearTimeout(timer);
  }
}
