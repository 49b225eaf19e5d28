/**
 * The portfolio answers cached in Redis per user and input. Invalidation is a per-user generation counter: every
 * entry is stored with the generation it was computed under, and a change to the user's fills or trades INCRs the
 * counter, so an entry of an older generation is never served again — no key scan, and an answer computed before the
 * change can never be served after it. A hit is one round trip: MGET of the counter and the entry (both keys carry
 * the user's hash tag, so they share a Redis Cluster slot). Entries expire after PORTFOLIO_CACHE_TTL_S, which also
 * bounds how stale the parts no fill announces can be (broker marks, strategy names).
 *
 * A burst of identical requests computes once per process (single flight: concurrent misses share one promise).
 * With Redis away every request computes, uncached: the cache is a speed-up, never a dependency.
 */
import { createHash } from 'node:crypto';
import superjson from 'superjson';
import { env } from '../../lib/env.ts';
import type { Logger } from '../../lib/logger.ts';
import type { RedisClient } from '../../lib/redis-client.ts';
import type { PortfolioSink } from './invalidation.ts';
import { rememberBrokerMarks } from './marks.ts';

/** What the metrics read: answers served from Redis, computed, joined to a computation in flight, or uncached. */
export const portfolioCacheCounters = { hits: 0, misses: 0, coalesced: 0, bypassed: 0 };

/** Far longer than any entry lives, so a counter that expired (an idle user) restarts below no live entry's key. */
const GENERATION_TTL_MS = 7 * 86_400_000;

const inflight = new Map<string, Promise<unknown>>();

/** A user's keys share the hash tag `{portfolio:<id>}`: one Cluster slot, so the counter and an entry MGET together. */
function userKeyPrefix(userId: number): string {
  return `${env.REDIS_PREFIX}:{portfolio:${userId}}`;
}

function generationKey(userId: number): string {
  return `${userKeyPrefix(userId)}:gen`;
}

/** An entry: the generation it was computed under, a space, then the superjson answer. */
function entryValue(generation: string, answer: unknown): string {
  return `${generation} ${superjson.stringify(answer)}`;
}

/** Canonical JSON (sorted keys, dates as ISO) hashed: the same input always names the same entry. */
export function inputHash(input: unknown): string {
  const canonical = (value: unknown): unknown => {
    if (value instanceof Date) return value.toISOString();
    if (Array.isArray(value)) return value.map(canonical);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value as Record<string, unknown>)
          .filter(([, v]) => v !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, v]) => [k, canonical(v)]),
      );
    }
    return value;
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(input)))
    .digest('base64url')
    .slice(0, 22);
}

export interface CacheOptions {
  ttlMs?: number;
}

/**
 * The answer of `procedure` for `userId` and `input`: from Redis when the user's current generation has it, else
 * computed (once per process for concurrent identical calls) and stored.
 */
export async function cachedAnswer<T>(
  redis: RedisClient,
  log: Logger,
  key: { userId: number; procedure: string; input: unknown },
  compute: () => Promise<T>,
  options: CacheOptions = {},
): Promise<T> {
  const entryKey = `${userKeyPrefix(key.userId)}:${key.procedure}:${inputHash(key.input)}`;
  // While the connection is not ready, ask nothing: a command would fail anyway, or wait for a reconnection.
  const read =
    redis.status === 'ready'
      ? await redis.mget(generationKey(key.userId), entryKey).then(
          ([generation, entry]) => ({ generation: generation ?? '0', entry }),
          () => null,
        )
      : null;
  if (read === null) {
    portfolioCacheCounters.bypassed++;
    return compute();
  }
  const { generation, entry } = read;
  if (entry?.startsWith(`${generation} `)) {
    portfolioCacheCounters.hits++;
    return superjson.parse<T>(entry.slice(generation.length + 1));
  }
  // One computation per generation and input in this process; concurrent misses join it.
  const flight = `${entryKey}:${generation}`;
  const pending = inflight.get(flight);
  if (pending) {
    portfolioCacheCounters.coalesced++;
    return pending as Promise<T>;
  }
  portfolioCacheCounters.misses++;
  const ttlMs = options.ttlMs ?? env.PORTFOLIO_CACHE_TTL_S * 1000;
  const computing = compute()
    .then((answer) => {
      redis.set(entryKey, entryValue(generation, answer), 'PX', ttlMs).catch((err: unknown) => {
        log.debug({ err }, 'portfolio answer not cached');
      });
      return answer;
    })
    .finally(() => inflight.delete(flight));
  inflight.set(flight, computing);
  return computing;
}

/** Moves the user to a new generation: every cached answer of theirs is out of reach from now on. */
export async function bumpGeneration(redis: RedisClient, userId: number): Promise<void> {
  const key = generationKey(userId);
  await redis.multi().incr(key).pexpire(key, GENERATION_TTL_MS).exec();
}

/** One warning per this interval at most while Redis refuses invalidations. */
const WARN_EVERY_MS = 10_000;

/**
 * The sink a process installs (server/api.ts, server/worker.ts): fire and forget on the fail-fast producer
 * connection. A failed invalidation is logged; the TTL then bounds how long the user may see figures without the
 * change. A lost mark only means positions are valued at their last fill.
 */
export function redisPortfolioSink(redis: RedisClient, log: Logger): PortfolioSink {
  let lastWarnAt = 0;
  const warn = (err: unknown, what: Record<string, unknown>, message: string) => {
    if (Date.now() - lastWarnAt < WARN_EVERY_MS) return;
    lastWarnAt = Date.now();
    log.warn({ err, ...what }, message);
  };
  return {
    invalidate(userId) {
      bumpGeneration(redis, userId).catch((err: unknown) =>
        warn(err, { userId }, 'portfolio cache not invalidated; answers expire with their TTL'),
      );
    },
    rememberMarks(connectionId, positions, at) {
      rememberBrokerMarks(redis, connectionId, positions, at).catch((err: unknown) =>
        warn(err, { connectionId }, 'broker marks not kept; positions are valued at their last fill'),
      );
    },
  };
}
