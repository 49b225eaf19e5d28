/**
 * The webhook route's token → strategy cache, so an alert costs no lookup query at load: answers (unknown tokens
 * too, so a flood of one wrong token does not reach MySQL) live CACHE_TTL_MS in this process. Strategy and account
 * mutations drop the entries they affect here at once (invalidateWebhookStrategies, called after their commit) and
 * in every other api process through Redis pub/sub; when Redis is down the TTL bounds how long another process may
 * act on the old settings.
 *
 * A lookup that started before an invalidation must not store what it read (it may have read the old row): every
 * invalidation bumps an epoch, a load stores its result only if the epoch did not move, and the in-flight loads that
 * concurrent requests share are forgotten so later requests start a fresh one.
 */
import { env } from '../../lib/env.ts';
import type { Logger } from '../../lib/logger.ts';
import type { RedisClient } from '../../lib/redis-client.ts';
import type { WebhookStrategy } from './webhook-strategy.ts';

/** Short: also the longest another api process acts on old settings when the Redis broadcast is lost. */
export const CACHE_TTL_MS = 5_000;
/** Bounds memory whatever the number of tokens presented; the oldest entry goes first. */
export const CACHE_MAX_ENTRIES = 10_000;

/** What changed: some strategies, every strategy of a user (kill switch, lock, disable), or anything. */
export type CacheInvalidation = { strategyIds: number[] } | { userId: number } | { all: true };

interface Entry {
  strategy: WebhookStrategy | null;
  until: number;
}

export class StrategyCache {
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<WebhookStrategy | null>>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  #epoch = 0;
  hits = 0;
  misses = 0;

  constructor(options: { ttlMs?: number; maxEntries?: number } = {}) {
    this.#ttlMs = options.ttlMs ?? CACHE_TTL_MS;
    this.#maxEntries = options.maxEntries ?? CACHE_MAX_ENTRIES;
  }

  /** The cached answer for `key`, or `load()`'s, shared by concurrent callers and cached unless invalidated meanwhile. */
  async get(key: string, load: () => Promise<WebhookStrategy | null>): Promise<WebhookStrategy | null> {
    const entry = this.#entries.get(key);
    if (entry && entry.until > Date.now()) {
      this.hits++;
      return entry.strategy;
    }
    this.misses++;
    const pending = this.#inflight.get(key);
    if (pending) return pending;
    const epoch = this.#epoch;
    const loading = load()
      .then((strategy) => {
        if (this.#epoch === epoch) this.#store(key, strategy);
        return strategy;
      })
      .finally(() => {
        if (this.#inflight.get(key) === loading) this.#inflight.delete(key);
      });
    this.#inflight.set(key, loading);
    return loading;
  }

  invalidate(what: CacheInvalidation): void {
    this.#epoch++;
    this.#inflight.clear();
    if ('all' in what) {
      this.#entries.clear();
      return;
    }
    const ids = 'strategyIds' in what ? new Set(what.strategyIds) : undefined;
    for (const [key, { strategy }] of this.#entries) {
      if (!strategy) continue; // an unknown token stays unknown: tokens are random and never reused
      if (ids ? ids.has(strategy.id) : strategy.userId === (what as { userId: number }).userId) {
        this.#entries.delete(key);
      }
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  #store(key: string, strategy: WebhookStrategy | null): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, { strategy, until: Date.now() + this.#ttlMs });
  }
}

/** This process's cache, used by the webhook route and simulations alike. */
export const strategyCache = new StrategyCache();

const localCaches = new Set<StrategyCache>([strategyCache]);
const publishers = new Set<RedisClient>();

export function invalidationChannel(): string {
  return `${env.REDIS_PREFIX}:webhook-strategy-cache`;
}

/**
 * Drops what `what` covers from every cache of this process and asks the other api processes to do the same. Call
 * it after the transaction that made the change commits (before, a concurrent lookup could cache the old row again).
 * Never throws and never waits: the broadcast is best effort.
 */
export function invalidateWebhookStrategies(what: CacheInvalidation): void {
  for (const cache of localCaches) cache.invalidate(what);
  const message = JSON.stringify(what);
  for (const publisher of publishers) {
    if (publisher.status !== 'ready') continue;
    publisher.publish(invalidationChannel(), message).catch(() => undefined);
  }
}

function parseInvalidation(message: string): CacheInvalidation {
  try {
    const value = JSON.parse(message) as Record<string, unknown>;
    const ids = value.strategyIds;
    if (Array.isArray(ids) && ids.every((id) => Number.isSafeInteger(id))) return { strategyIds: ids as number[] };
    if (Number.isSafeInteger(value.userId)) return { userId: value.userId as number };
  } catch {
    // fall through: an unreadable message clears everything, the safe reading of "something changed"
  }
  return { all: true };
}

/**
 * Wires a cache to Redis: invalidations made in this process are published on `publisher`, and those published by
 * any process arrive on `subscriber` (a connection of its own: a subscribed connection can do nothing else). Each
 * time the subscriber (re)connects the cache is cleared, since messages sent while it was away are lost. Returns the
 * function that unwires it (it does not close the connections).
 */
export function connectCacheBroadcast(options: {
  publisher?: RedisClient;
  subscriber: RedisClient;
  cache?: StrategyCache;
  log: Logger;
}): () => Promise<void> {
  const { publisher, subscriber, log } = options;
  const cache = options.cache ?? strategyCache;
  const channel = invalidationChannel();
  const onMessage = (from: string, message: string) => {
    if (from === channel) cache.invalidate(parseInvalidation(message));
  };
  const onReady = () => {
    cache.invalidate({ all: true });
    subscriber.subscribe(channel).catch((err: unknown) => log.warn({ err }, 'strategy cache: subscribe failed'));
  };
  subscriber.on('message', onMessage);
  subscriber.on('ready', onReady);
  if (subscriber.status === 'ready') onReady();
  if (publisher) publishers.add(publisher);
  return async () => {
    if (publisher) publishers.delete(publisher);
    subscriber.off('message', onMessage);
    subscriber.off('ready', onReady);
    if (subscriber.status === 'ready') await subscriber.unsubscribe(channel).catch(() => undefined);
  };
}
