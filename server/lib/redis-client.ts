/**
 * The type of every Redis connection the app passes around: a single node, or a Redis Cluster (REDIS_CLUSTER; built
 * by server/jobs/connection.ts). Both speak the same commands; on a Cluster, a command, transaction, pipeline or
 * script touching several keys needs them in one hash slot, which the key layout provides.
 */
import { Cluster, type Redis, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

/** What a duplicate may change: how it connects and queues commands, never where it connects to. */
export type DuplicateOverrides = Pick<RedisOptions, 'lazyConnect' | 'enableOfflineQueue' | 'enableAutoPipelining'>;

/**
 * A new connection to the same Redis or Cluster, with the same options but `overrides` (e.g. a subscriber, which
 * can send nothing but subscriptions). A Cluster takes its seed nodes first and these options at its top level, so
 * `redis.duplicate(overrides)` would not do for both.
 */
export function duplicateRedis(redis: RedisClient, overrides: DuplicateOverrides = {}): RedisClient {
  return redis instanceof Cluster ? redis.duplicate(undefined, overrides) : redis.duplicate(overrides);
}
