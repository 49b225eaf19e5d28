/**
 * Redis connections per the BullMQ rules (PITFALLS §1 "Connections"): producers fail fast when Redis is down so a
 * request never hangs on an offline queue; workers retry forever so a Redis blip does not kill them. Every
 * connection has an `error` listener, or ioredis would crash the process on an unhandled error event.
 *
 * With REDIS_CLUSTER the same roles run on an ioredis Cluster seeded from REDIS_URL (one or more comma-separated
 * node URLs; the rest of the cluster is discovered). Both clients speak the same commands, so the app takes either
 * (`RedisClient`); what Cluster adds is that a command touching several keys must keep them in one hash slot, which
 * the key layout guarantees (README "Redis Cluster and managed MySQL").
 */
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { env } from '../lib/env.ts';
import type { Logger } from '../lib/logger.ts';
import type { RedisClient } from '../lib/redis-client.ts';

export type { RedisClient } from '../lib/redis-client.ts';

export type RedisRole = 'producer' | 'worker';

const ROLE_OPTIONS: Record<RedisRole, RedisOptions> = {
  // Auto-pipelining sends every command issued in one event-loop turn in one write: under load, the rate-limit
  // counters and job adds of many concurrent requests share round trips.
  producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, enableAutoPipelining: true },
  worker: { maxRetriesPerRequest: null, enableReadyCheck: true },
};

// Reconnect quickly at first, then every 2 s at most: readiness recovers soon after Redis returns.
const retryStrategy = (attempt: number) => Math.min(attempt * 100, 2_000);

export interface CreateRedisOptions {
  /** Connect to a Redis Cluster seeded by `url`'s nodes; REDIS_CLUSTER by default. */
  cluster?: boolean;
}

export function createRedis(url: string, role: RedisRole, log: Logger, options: CreateRedisOptions = {}): RedisClient {
  const redis =
    (options.cluster ?? env.REDIS_CLUSTER)
      ? new Cluster(clusterSeeds(url), clusterOptions(url, ROLE_OPTIONS[role]))
      : new Redis(url, { ...ROLE_OPTIONS[role], retryStrategy });
  let lastLoggedAt = 0;
  redis.on('error', (error: Error) => {
    // One line per 10 s at most while Redis is down, instead of one per reconnect attempt.
    if (Date.now() - lastLoggedAt < 10_000) return;
    lastLoggedAt = Date.now();
    log.warn({ err: error, role }, 'redis connection error');
  });
  return redis;
}

/** The seed nodes of a cluster URL list: `redis://[user:password@]host:port[,redis://host:port…]`. */
export function clusterSeeds(urls: string): Array<{ host: string; port: number }> {
  return splitUrls(urls).map((url) => ({
    // An IPv6 host comes bracketed (`[::1]`); the socket wants it bare.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 6379,
  }));
}

/**
 * A role's options as Cluster wants them: the per-node ones (timeouts, retries per command, credentials, TLS) under
 * `redisOptions`, the offline queue, auto-pipelining and reconnection at the top. Credentials and TLS come from the
 * first seed URL: every node of one cluster shares them.
 */
export function clusterOptions(urls: string, role: RedisOptions): ClusterOptions {
  const [first] = splitUrls(urls);
  if (!first) throw new Error('REDIS_URL names no Redis Cluster node');
  for (const url of splitUrls(urls)) {
    if (url.pathname.replace(/^\//, '') && url.pathname !== '/0') {
      throw new Error(`REDIS_URL: a Redis Cluster has only database 0 (drop "${url.pathname}" from the URL)`);
    }
  }
  const { enableOfflineQueue, enableAutoPipelining, enableReadyCheck, ...perNode } = role;
  const tls = first.protocol === 'rediss:';
  return {
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(enableAutoPipelining === undefined ? {} : { enableAutoPipelining }),
    ...(enableReadyCheck === undefined ? {} : { enableReadyCheck }),
    clusterRetryStrategy: retryStrategy,
    // Over TLS the nodes are reached by the names they announce, so certificates are checked against those names
    // rather than resolved addresses (managed clusters such as ElastiCache announce names).
    ...(tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
    redisOptions: {
      ...perNode,
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
      ...(tls ? { tls: {} } : {}),
    },
  };
}

function splitUrls(urls: string): URL[] {
  return urls
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => new URL(part));
}
