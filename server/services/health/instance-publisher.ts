/**
 * Publishes this process's snapshot (instances.ts) every `intervalMs`, once connected to Redis, at once when one of its
 * broker breakers changes state, and removes it at clean shutdown. Redis down or slow: the snapshot is skipped (a warning
 * per minute at most) and the process carries on; a publish never overlaps the previous one.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { BreakerDetail, InstanceHealth, InstanceRole, PoolStats } from '#shared/schemas/health.ts';
import { withTimeout } from '../../db/client.ts';
import type { Logger } from '../../lib/logger.ts';
import { projectPath } from '../../lib/paths.ts';
import type { RedisClient } from '../../lib/redis-client.ts';
import { instancesKey, type StoredInstance } from './instances.ts';

export const DEFAULT_PUBLISH_INTERVAL_MS = 10_000;
// A snapshot outlives two missed publishes: a process busy for a moment does not flicker out of the list.
const EXPIRY_INTERVALS = 3;
// The hash itself expires once no process at all has published for this many intervals.
const KEY_EXPIRY_INTERVALS = 30;
const REDIS_TIMEOUT_MS = 2_000;
const WARN_EVERY_MS = 60_000;

export interface InstanceSources {
  brokers: { breakerDetails(): BreakerDetail[]; onBreakerChange(listener: () => void): void };
  /** The process's MySQL pools by name: `primary`, and `replica` with DATABASE_READ_URL (DatabaseHandle.poolStatsByName). */
  pools(): Record<string, PoolStats>;
  /** On a worker: each queue's concurrency and jobs running now. */
  queues?(): InstanceHealth['queues'];
  draining(): boolean;
}

export interface InstancePublisherOptions {
  /** A fail-fast (producer) connection, so a publish during an outage is refused at once instead of queued. */
  redis: RedisClient;
  role: InstanceRole;
  sources: InstanceSources;
  log: Logger;
  /** Tests publish more often; expiry follows (EXPIRY_INTERVALS × the interval). */
  intervalMs?: number;
}

export class InstancePublisher {
  readonly id = `${hostname()}:${process.pid}`;
  readonly #options: InstancePublisherOptions;
  readonly #intervalMs: number;
  readonly #startedAt = Math.round(performance.timeOrigin);
  readonly #version = packageVersion();
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | null = null;
  #again = false;
  #stopped = false;
  #lastWarnAt = 0;

  constructor(options: InstancePublisherOptions) {
    this.#options = options;
    this.#intervalMs = options.intervalMs ?? DEFAULT_PUBLISH_INTERVAL_MS;
  }

  start(): void {
    // A fail-fast connection refuses commands until it is connected: publish once it is, and again after each
    // reconnection, so a process is listed from its start and soon after a Redis outage.
    const { redis } = this.#options;
    if (redis.status === 'ready') void this.publish();
    redis.on('ready', () => void this.publish());
    this.#timer = setInterval(() => void this.publish(), this.#intervalMs);
    this.#timer.unref();
    // An operator looking because a broker misbehaves sees the breaker's new state now, not up to an interval later.
    this.#options.sources.brokers.onBreakerChange(() => void this.publish());
  }

  /** Writes the snapshot now; while one is being written, one more follows it. Never rejects. */
  publish(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#inFlight) {
      this.#again = true;
      return this.#inFlight;
    }
    this.#inFlight = this.#write().finally(() => {
      this.#inFlight = null;
      if (this.#again) {
        this.#again = false;
        void this.publish();
      }
    });
    return this.#inFlight;
  }

  /** Stops publishing and removes this process's snapshot (clean shutdown). Never rejects. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#inFlight;
    try {
      await withTimeout(this.#options.redis.hdel(instancesKey(), this.id), REDIS_TIMEOUT_MS, 'instance removal');
    } catch (error) {
      this.#options.log.warn({ err: error }, 'instance snapshot not removed: it disappears once it expires');
    }
  }

  snapshot(now = Date.now()): StoredInstance {
    const { role, sources } = this.#options;
    const { primary, replica } = sources.pools();
    return {
      role,
      id: this.id,
      startedAt: this.#startedAt,
      version: this.#version,
      draining: sources.draining(),
      publishedAt: now,
      expiresAt: now + this.#intervalMs * EXPIRY_INTERVALS,
      breakers: sources.brokers.breakerDetails(),
      pools: { primary: primary ?? { limit: 0, open: 0, inUse: 0, idle: 0, waiting: 0 }, ...(replica && { replica }) },
      queues: sources.queues?.() ?? [],
    };
  }

  async #write(): Promise<void> {
    const { redis, log } = this.#options;
    try {
      const key = instancesKey();
      const write = redis
        .multi()
        .hset(key, this.id, JSON.stringify(this.snapshot()))
        .pexpire(key, this.#intervalMs * KEY_EXPIRY_INTERVALS)
        .exec();
      await withTimeout(write, REDIS_TIMEOUT_MS, 'instance snapshot');
    } catch (error) {
      if (Date.now() - this.#lastWarnAt < WARN_EVERY_MS) return;
      this.#lastWarnAt = Date.now();
      log.warn({ err: error }, 'instance snapshot not published: health.details may miss this process for a while');
    }
  }
}

function packageVersion(): string | null {
  try {
    const { version } = JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version?: unknown };
    return typeof version === 'string' ? version : null;
  } catch {
    return null;
  }
}
