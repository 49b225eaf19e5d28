/**
 * Redis connections per the BullMQ rules (PITFALLS §1 "Connections"): producers fail fast when Redis is down so a
 * request never hangs on an offline queue; workers retry forever so a Redis blip does not kill them. Every
 * connection has an `error` listener, or ioredis would crash the process on an unhandled error event.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../lib/logger.ts';

export type RedisRole = 'producer' | 'worker';

const ROLE_OPTIONS: Record<RedisRole, RedisOptions> = {
  // Auto-pipelining sends every command issued in one event-loop turn in one write: under load, the rate-limit
  // counters and job adds of many concurrent requests share round trips.
  producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, enableAutoPipelining: true },
  worker: { maxRetriesPerRequest: null, enableReadyCheck: true },
};

export function createRedis(url: string, role: RedisRole, log: Logger): Redis {
  const redis = new Redis(url, {
    ...ROLE_OPTIONS[role],
    // Reconnect quickly at first, then every 2 s at most: readiness recovers soon after Redis returns.
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  });
  let lastLoggedAt = 0;
  redis.on('error', (error) => {
    // One line per 10 s at most while Redis is down, instead of one per reconnect attempt.
    if (Date.now() - lastLoggedAt < 10_000) return;
    lastLoggedAt = Date.now();
    log.warn({ err: error, role }, 'redis connection error');
  });
  return redis;
}
