/**
 * The api side of real-time events: one pub/sub connection per process, subscribed to the channels of the users who
 * have an open event stream here. A message on a user's channel only says "the stream grew"; each open stream then
 * reads what it has not sent yet from the user's Redis stream (./stream.ts). So the data always comes from the stream
 * — in order, once, with backpressure (a slow client leaves its events in Redis, not in memory) — and pub/sub only
 * spares the polling. Any process may append (./redis-sink.ts) and every api process with a subscriber of that user
 * hears it.
 *
 * Hints can be missed while the pub/sub connection reconnects: every stream is woken when it is back, and also looks
 * at its Redis stream on a timer of its own, so a missed hint delays an event, never loses it.
 */
import type { Logger } from '../../lib/logger.ts';
import { duplicateRedis, type RedisClient } from '../../lib/redis-client.ts';
import { RateLimited, ServiceUnavailable } from '../errors.ts';
import { eventChannel, userOfChannel } from './keys.ts';

/** Open streams a user may hold in one api process (browser tabs, devices); more answer TOO_MANY_REQUESTS. */
export const MAX_STREAMS_PER_USER = 10;
const WARN_EVERY_MS = 10_000;

export type WaitOutcome = 'grew' | 'timeout' | 'aborted' | 'closed';

/** One open stream's registration with the hub. */
export interface EventLease {
  /** Resolves once the user's channel is subscribed: an event appended after that wakes this lease. */
  readonly ready: Promise<void>;
  /**
   * Resolves at the first of: the stream grew since the previous call, `timeoutMs`, `signal` aborted, the hub
   * closed.
   */
  next(timeoutMs: number, signal: AbortSignal): Promise<WaitOutcome>;
  release(): void;
}

class Lease implements EventLease {
  readonly ready: Promise<void>;
  private readonly onRelease: (lease: Lease) => void;
  private grew = false;
  private closed = false;
  private waiter: ((outcome: WaitOutcome) => void) | null = null;

  constructor(ready: Promise<void>, onRelease: (lease: Lease) => void) {
    this.ready = ready;
    this.onRelease = onRelease;
  }

  wake(): void {
    if (this.waiter) this.waiter('grew');
    else this.grew = true;
  }

  close(): void {
    this.closed = true;
    this.waiter?.('closed');
  }

  next(timeoutMs: number, signal: AbortSignal): Promise<WaitOutcome> {
    if (this.closed) return Promise.resolve('closed');
    if (signal.aborted) return Promise.resolve('aborted');
    if (this.grew) {
      this.grew = false;
      return Promise.resolve('grew');
    }
    return new Promise((resolve) => {
      const finish = (outcome: WaitOutcome) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.waiter = null;
        resolve(outcome);
      };
      const onAbort = () => finish('aborted');
      const timer = setTimeout(() => finish('timeout'), Math.max(0, timeoutMs));
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiter = finish;
    });
  }

  release(): void {
    this.onRelease(this);
  }
}

interface UserEntry {
  leases: Set<Lease>;
  /** The SUBSCRIBE of the user's channel. */
  subscribed: Promise<void>;
  /** It failed (Redis away): the next stream of the user sends it again. */
  failed: boolean;
}

export class EventHub {
  private readonly subscriber: RedisClient;
  private readonly log: Logger;
  private readonly users = new Map<number, UserEntry>();
  private closed = false;
  private lastWarnAt = 0;

  /** `redis`: the process's producer connection, duplicated into the subscriber (connected on first use). */
  constructor(redis: RedisClient, log: Logger) {
    this.log = log;
    // The offline queue on: a SUBSCRIBE sent while connecting waits for the connection (and still fails after the
    // producer's retry budget when Redis is down).
    this.subscriber = duplicateRedis(redis, {
      lazyConnect: true,
      enableOfflineQueue: true,
      enableAutoPipelining: false,
    });
    this.subscriber.on('message', (channel: string) => {
      const userId = userOfChannel(channel);
      if (userId === null) return;
      for (const lease of this.users.get(userId)?.leases ?? []) lease.wake();
    });
    // Back after a disconnection: hints sent meanwhile are lost, so every stream looks at Redis again.
    this.subscriber.on('ready', () => {
      for (const entry of this.users.values()) for (const lease of entry.leases) lease.wake();
    });
    this.subscriber.on('error', (error: Error) => {
      if (Date.now() - this.lastWarnAt < WARN_EVERY_MS) return;
      this.lastWarnAt = Date.now();
      this.log.warn({ err: error }, 'real-time events: pub/sub connection error');
    });
  }

  /** Registers one stream of `userId`. Throws RateLimited past MAX_STREAMS_PER_USER, ServiceUnavailable once closed. */
  open(userId: number): EventLease {
    if (this.closed) throw new ServiceUnavailable('The server is restarting: reconnect to resume');
    let entry = this.users.get(userId);
    if (entry && entry.leases.size >= MAX_STREAMS_PER_USER) {
      throw new RateLimited(`At most ${MAX_STREAMS_PER_USER} event streams at once; close one first`, 5);
    }
    if (!entry) {
      entry = { leases: new Set(), subscribed: Promise.resolve(), failed: true };
      this.users.set(userId, entry);
    }
    if (entry.failed) this.subscribe(userId, entry);
    const lease = new Lease(entry.subscribed, (released) => this.release(userId, released));
    entry.leases.add(lease);
    return lease;
  }

  /**
   * Ends every open stream (each answers `closed` and its generator ends with a retryable error, so clients reconnect
   * to another instance) and disconnects. Called before the HTTP server closes, which waits for open responses.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const entry of this.users.values()) for (const lease of entry.leases) lease.close();
    this.users.clear();
    this.subscriber.disconnect();
  }

  private subscribe(userId: number, entry: UserEntry): void {
    entry.failed = false;
    entry.subscribed = this.subscriber.subscribe(eventChannel(userId)).then(() => undefined);
    entry.subscribed.catch(() => {
      entry.failed = true;
    });
  }

  private release(userId: number, lease: Lease): void {
    const entry = this.users.get(userId);
    if (!entry?.leases.delete(lease) || entry.leases.size > 0) return;
    this.users.delete(userId);
    this.subscriber.unsubscribe(eventChannel(userId)).catch(() => undefined);
  }
}
