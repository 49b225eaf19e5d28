/**
 * One circuit breaker per channel, per process (PITFALLS §6, opossum; shaped like server/brokers/resilience.ts):
 * a channel whose endpoint keeps failing stops being called for a while, so its queued deliveries fail fast instead
 * of each holding a worker slot until its timeout, and the other channels' deliveries keep flowing.
 * - each call gets its own AbortController and timeout, which really cancels the request;
 * - `volumeThreshold`, so one failed first call does not open the circuit;
 * - `errorFilter`: a refusal (4xx) or a rate limit is the channel answering, not an outage;
 * - an open circuit answers DeliveryFailed at once, naming the last real failure, until it half-opens.
 * Breaker state is per process: N workers trip independently. A changed target (new ciphertext) gets a fresh
 * breaker; the least recently used breakers are dropped beyond `maxChannels`.
 */
import { EventEmitter } from 'node:events';
import CircuitBreaker from 'opossum';
import { DeliveryFailed, DeliveryRateLimited, DeliveryRefused } from './errors.ts';

export interface ChannelBreakerSettings {
  /** Per call, connection included. */
  timeoutMs: number;
  /** Calls in the rolling window before the error rate may open the circuit. */
  volumeThreshold: number;
  /** The circuit opens when failures exceed this share of the window's calls. */
  errorThresholdPercentage: number;
  /** How long the circuit stays open before one trial call is let through. */
  resetTimeoutMs: number;
  rollingWindowMs: number;
  /** Breakers kept in memory at most. */
  maxChannels: number;
}

export const DEFAULT_CHANNEL_BREAKER: ChannelBreakerSettings = {
  timeoutMs: 10_000,
  volumeThreshold: 3,
  errorThresholdPercentage: 50,
  resetTimeoutMs: 30_000,
  rollingWindowMs: 60_000,
  maxChannels: 10_000,
};

const ROLLING_BUCKETS = 10;

export type ChannelCall = (signal: AbortSignal) => Promise<void>;

interface Entry {
  version: string;
  breaker: CircuitBreaker<[ChannelCall], void>;
  /** The last failure that counted against the circuit, shown while it is open. */
  lastFailure: string | null;
}

export class ChannelBreakers {
  readonly #settings: ChannelBreakerSettings;
  readonly #entries = new Map<number, Entry>();
  // One timer rotates the statistics buckets of every breaker (opossum otherwise runs a timer per breaker).
  readonly #rotate = new EventEmitter();
  readonly #timer: NodeJS.Timeout;

  constructor(settings: Partial<ChannelBreakerSettings> = {}) {
    this.#settings = { ...DEFAULT_CHANNEL_BREAKER, ...settings };
    this.#rotate.setMaxListeners(0);
    this.#timer = setInterval(() => this.#rotate.emit('rotate'), this.#settings.rollingWindowMs / ROLLING_BUCKETS);
    this.#timer.unref();
  }

  /**
   * Runs `call` through the breaker of `channelId`. `version` identifies the target (e.g. its ciphertext); `label`
   * (the channel kind) starts the message of an open circuit.
   */
  async run(channelId: number, version: string, label: string, call: ChannelCall): Promise<void> {
    const entry = this.#entry(channelId, version);
    try {
      await entry.breaker.fire(call);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'EOPENBREAKER') {
        const last = entry.lastFailure ? `; last error: ${entry.lastFailure}` : '';
        throw new DeliveryFailed(`${label}: deliveries paused after repeated failures${last}`);
      }
      throw error;
    }
  }

  /** `open`, `half_open` or `closed`; undefined for a channel this process has not called. */
  state(channelId: number): 'open' | 'half_open' | 'closed' | undefined {
    const breaker = this.#entries.get(channelId)?.breaker;
    if (!breaker) return undefined;
    if (breaker.opened) return 'open';
    return breaker.halfOpen ? 'half_open' : 'closed';
  }

  close(): void {
    clearInterval(this.#timer);
    for (const entry of this.#entries.values()) entry.breaker.shutdown();
    this.#entries.clear();
  }

  #entry(channelId: number, version: string): Entry {
    const cached = this.#entries.get(channelId);
    if (cached) this.#entries.delete(channelId);
    if (cached?.version === version) {
      this.#entries.set(channelId, cached); // most recently used last
      return cached;
    }
    cached?.breaker.shutdown();
    const entry = this.#create(version);
    this.#entries.set(channelId, entry);
    for (const [oldest, stale] of this.#entries) {
      if (this.#entries.size <= this.#settings.maxChannels) break;
      stale.breaker.shutdown();
      this.#entries.delete(oldest);
    }
    return entry;
  }

  #create(version: string): Entry {
    const settings = this.#settings;
    const breaker = new CircuitBreaker((call: ChannelCall) => withTimeout(call, settings.timeoutMs), {
      // The timeout lives in withTimeout, where it can abort the request.
      timeout: false,
      volumeThreshold: settings.volumeThreshold,
      errorThresholdPercentage: settings.errorThresholdPercentage,
      resetTimeout: settings.resetTimeoutMs,
      rollingCountTimeout: settings.rollingWindowMs,
      rollingCountBuckets: ROLLING_BUCKETS,
      errorFilter: (error: unknown) => error instanceof DeliveryRefused || error instanceof DeliveryRateLimited,
      enableSnapshots: false,
      rotateBucketController: this.#rotate,
    });
    const entry: Entry = { version, breaker, lastFailure: null };
    breaker.on('failure', (error: unknown) => {
      if (error instanceof Error) entry.lastFailure = error.message;
    });
    return entry;
  }
}

async function withTimeout(call: ChannelCall, timeoutMs: number): Promise<void> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('timeout')), timeoutMs);
  try {
    await call(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}
