/**
 * One circuit breaker per broker connection (PITFALLS §11, opossum):
 * - a timeout per call that really cancels the HTTP request: each call gets its own AbortController (opossum's
 *   shared controller would abort every call in flight, and its own timeout leaves the request running);
 * - `volumeThreshold`, so one failed first call does not open the circuit;
 * - `errorFilter`, so a broker's final "no" (rejections, expired sessions) never counts as an outage;
 * - an open circuit answers BrokerUnavailable at once, without touching the broker, until it half-opens.
 * GuardedAdapter wraps an adapter with its breaker; the registry creates exactly one per connection. Every call is
 * timed into fillpath_broker_call_duration_seconds by broker, operation and outcome.
 */
import type { EventEmitter } from 'node:events';
import CircuitBreaker from 'opossum';
import { observeBrokerCall } from '../lib/metrics.ts';
import { BrokerAuthExpired, BrokerRejected, BrokerUnavailable } from './errors.ts';
import type {
  BrokerAccount,
  BrokerAdapter,
  BrokerOrder,
  BrokerPosition,
  CallOptions,
  OrderRequest,
  SessionStatus,
} from './types.ts';

export interface BreakerSettings {
  /** Per call, including the time spent waiting for the connection's pacing budget. */
  timeoutMs: number;
  /** Calls in the rolling window before the error rate may open the circuit. */
  volumeThreshold: number;
  /** The circuit opens when failures exceed this share of the window's calls. */
  errorThresholdPercentage: number;
  /** How long the circuit stays open before one trial call is let through. */
  resetTimeoutMs: number;
  rollingWindowMs: number;
}

export const DEFAULT_BREAKER: BreakerSettings = {
  timeoutMs: 10_000,
  volumeThreshold: 5,
  errorThresholdPercentage: 50,
  resetTimeoutMs: 30_000,
  rollingWindowMs: 10_000,
};

/** Buckets per rolling window; the registry rotates them for every breaker with one shared timer. */
export const ROLLING_BUCKETS = 10;

export type BreakerState = 'closed' | 'open' | 'half_open';

type Call<T> = (signal: AbortSignal) => Promise<T>;

export class GuardedAdapter implements BrokerAdapter {
  readonly broker: BrokerAdapter['broker'];
  readonly #inner: BrokerAdapter;
  readonly #label: string;
  readonly #settings: BreakerSettings;
  readonly #breaker: CircuitBreaker<[Call<unknown>, AbortSignal | undefined], unknown>;

  constructor(inner: BrokerAdapter, label: string, settings: BreakerSettings, rotateBuckets?: EventEmitter) {
    this.broker = inner.broker;
    this.#inner = inner;
    this.#label = label;
    this.#settings = settings;
    this.#breaker = new CircuitBreaker(
      (call: Call<unknown>, outer: AbortSignal | undefined) => this.#withTimeout(call, outer),
      {
        // The timeout lives in #withTimeout, where it can abort the request.
        timeout: false,
        volumeThreshold: settings.volumeThreshold,
        errorThresholdPercentage: settings.errorThresholdPercentage,
        resetTimeout: settings.resetTimeoutMs,
        rollingCountTimeout: settings.rollingWindowMs,
        rollingCountBuckets: ROLLING_BUCKETS,
        errorFilter: (error: unknown) => error instanceof BrokerRejected || error instanceof BrokerAuthExpired,
        enableSnapshots: false,
        ...(rotateBuckets ? { rotateBucketController: rotateBuckets } : {}),
      },
    );
  }

  get state(): BreakerState {
    if (this.#breaker.opened) return 'open';
    return this.#breaker.halfOpen ? 'half_open' : 'closed';
  }

  /** Failed calls in the breaker's rolling window (calls refused while open are not counted). */
  get failures(): number {
    return this.#breaker.stats.failures;
  }

  /** Subscribes to state changes (for notifications and metrics). */
  onStateChange(listener: (state: BreakerState) => void): void {
    this.#breaker.on('open', () => listener('open'));
    this.#breaker.on('halfOpen', () => listener('half_open'));
    this.#breaker.on('close', () => listener('closed'));
  }

  shutdown(): void {
    this.#breaker.shutdown();
  }

  async #withTimeout<T>(call: Call<T>, outer: AbortSignal | undefined): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('timeout')), this.#settings.timeoutMs);
    const signal = outer ? AbortSignal.any([outer, controller.signal]) : controller.signal;
    try {
      return await call(signal);
    } finally {
      clearTimeout(timer);
    }
  }

  async #guard<T>(op: string, call: Call<T>, options?: CallOptions): Promise<T> {
    const startedAt = performance.now();
    try {
      const result = (await this.#breaker.fire(call as Call<unknown>, options?.signal)) as T;
      observeBrokerCall(this.broker, op, 'ok', performance.now() - startedAt);
      return result;
    } catch (error) {
      observeBrokerCall(this.broker, op, callOutcome(error), performance.now() - startedAt);
      if ((error as { code?: unknown }).code === 'EOPENBREAKER') {
        throw new BrokerUnavailable(
          `${this.#label}: paused after repeated broker failures; retrying automatically shortly`,
          { retryAfterMs: this.#settings.resetTimeoutMs },
        );
      }
      throw error;
    }
  }

  getAccount(options?: CallOptions): Promise<BrokerAccount> {
    return this.#guard('getAccount', (signal) => this.#inner.getAccount({ signal }), options);
  }
  submitOrder(order: OrderRequest, options?: CallOptions): Promise<BrokerOrder> {
    return this.#guard('submitOrder', (signal) => this.#inner.submitOrder(order, { signal }), options);
  }
  getOrderByClientId(clientOrderId: string, options?: CallOptions): Promise<BrokerOrder | null> {
    return this.#guard(
      'getOrderByClientId',
      (signal) => this.#inner.getOrderByClientId(clientOrderId, { signal }),
      options,
    );
  }
  getOrder(brokerOrderId: string, options?: CallOptions): Promise<BrokerOrder | null> {
    return this.#guard('getOrder', (signal) => this.#inner.getOrder(brokerOrderId, { signal }), options);
  }
  cancelOrder(brokerOrderId: string, options?: CallOptions): Promise<void> {
    return this.#guard('cancelOrder', (signal) => this.#inner.cancelOrder(brokerOrderId, { signal }), options);
  }
  getPositions(options?: CallOptions): Promise<BrokerPosition[]> {
    return this.#guard('getPositions', (signal) => this.#inner.getPositions({ signal }), options);
  }
  getOpenOrders(options?: CallOptions): Promise<BrokerOrder[]> {
    return this.#guard('getOpenOrders', (signal) => this.#inner.getOpenOrders({ signal }), options);
  }
  checkSession(options?: CallOptions): Promise<SessionStatus> {
    return this.#guard('checkSession', (signal) => this.#inner.checkSession({ signal }), options);
  }
  renewSession(options?: CallOptions): Promise<SessionStatus> {
    return this.#guard('renewSession', (signal) => this.#inner.renewSession({ signal }), options);
  }
}

/** A failed call's outcome label: the broker's final no, an expired session, an outage, or a refusal by the breaker. */
function callOutcome(error: unknown): string {
  if ((error as { code?: unknown }).code === 'EOPENBREAKER') return 'short_circuit';
  if (error instanceof BrokerRejected) return 'rejected';
  if (error instanceof BrokerAuthExpired) return 'auth_expired';
  if (error instanceof BrokerUnavailable) return 'unavailable';
  return 'error';
}

/**
 * Places an order without ever doubling it (BROKERS.md §5): a retry first asks the broker for the client order id
 * and returns what it finds; only an order the broker does not know is (re)submitted. A duplicate-id answer on
 * submit also resolves to the existing order inside each adapter.
 */
export async function submitOnce(
  adapter: BrokerAdapter,
  order: OrderRequest,
  { isRetry }: { isRetry: boolean },
  options?: CallOptions,
): Promise<BrokerOrder> {
  if (isRetry) {
    const existing = await adapter.getOrderByClientId(order.clientOrderId, options);
    if (existing) return existing;
  }
  return adapter.submitOrder(order, options);
}
