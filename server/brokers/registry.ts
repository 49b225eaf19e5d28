/**
 * The adapters of the connections this process talks to: one adapter, one breaker and one pacer per connection,
 * created on first use and reused for every later call (a breaker created per call would never open). A changed
 * connection (new credentials) gets a fresh adapter: the caller passes a `version` that changes with the row.
 */
import { EventEmitter } from 'node:events';
import type { Broker, BrokerEnvironment } from '#shared/enums.ts';
import type { BrokerCredentials } from '#shared/schemas/brokers.ts';
import type { BreakerDetail } from '#shared/schemas/health.ts';
import { env } from '../lib/env.ts';
import { countBreakerTransition } from '../lib/metrics.ts';
import { createAdapter } from './factories.ts';
import { createPacer, type PacingRules } from './pacing.ts';
import {
  type BreakerSettings,
  type BreakerState,
  DEFAULT_BREAKER,
  GuardedAdapter,
  ROLLING_BUCKETS,
} from './resilience.ts';

export interface BrokerUrls {
  alpacaPaper: string;
  alpacaLive: string;
  tradovateDemo: string;
  tradovateLive: string;
  ibkrGateway: string;
}

export function brokerUrlsFromEnv(): BrokerUrls {
  return {
    alpacaPaper: env.ALPACA_PAPER_URL,
    alpacaLive: env.ALPACA_LIVE_URL,
    tradovateDemo: env.TRADOVATE_DEMO_URL,
    tradovateLive: env.TRADOVATE_LIVE_URL,
    ibkrGateway: env.IBKR_GATEWAY_URL,
  };
}

export interface ConnectionSpec {
  id: number;
  broker: Broker;
  environment: BrokerEnvironment;
  /** Decrypted and validated by the caller (services/brokers/connections/credentials.ts). */
  credentials: BrokerCredentials;
  /** Changes whenever the connection row changes (e.g. its updated_at), so new credentials get a new adapter. */
  version: string;
}

export interface RegistryOptions {
  urls?: BrokerUrls;
  breaker?: Partial<BreakerSettings>;
  /** Overrides of each broker's published limits (tests use faster ones). */
  pacing?: Partial<Record<Broker, PacingRules>>;
}

export interface BreakerReport {
  connectionId: number;
  broker: Broker;
  state: BreakerState;
}

export function baseUrlFor(urls: BrokerUrls, broker: Broker, environment: BrokerEnvironment): string {
  switch (broker) {
    case 'alpaca':
      return environment === 'live' ? urls.alpacaLive : urls.alpacaPaper;
    case 'tradovate':
      return environment === 'live' ? urls.tradovateLive : urls.tradovateDemo;
    case 'ibkr':
      // The gateway runs beside the trader's session; paper or live is a property of the logged-in account.
      return urls.ibkrGateway;
  }
}

export class BrokerRegistry {
  readonly #urls: BrokerUrls;
  readonly #breaker: BreakerSettings;
  readonly #pacing: Partial<Record<Broker, PacingRules>>;
  readonly #entries = new Map<number, { version: string; adapter: GuardedAdapter }>();
  // One timer rotates the statistics buckets of every breaker (opossum otherwise runs a timer per breaker).
  readonly #rotate = new EventEmitter();
  readonly #timer: NodeJS.Timeout;
  readonly #listeners: Array<(report: BreakerReport) => void> = [];

  constructor(options: RegistryOptions = {}) {
    this.#urls = options.urls ?? brokerUrlsFromEnv();
    this.#breaker = { ...DEFAULT_BREAKER, ...options.breaker };
    this.#pacing = options.pacing ?? {};
    this.#rotate.setMaxListeners(0);
    this.#timer = setInterval(() => this.#rotate.emit('rotate'), this.#breaker.rollingWindowMs / ROLLING_BUCKETS);
    this.#timer.unref();
  }

  /** The adapter already built for this connection's credentials version, if any (no credentials needed to ask). */
  cached(connectionId: number, version: string): GuardedAdapter | undefined {
    const entry = this.#entries.get(connectionId);
    return entry?.version === version ? entry.adapter : undefined;
  }

  forConnection(spec: ConnectionSpec): GuardedAdapter {
    const cached = this.#entries.get(spec.id);
    if (cached?.version === spec.version) return cached.adapter;
    cached?.adapter.shutdown();

    const label = `${spec.broker} connection ${spec.id}`;
    const inner = createAdapter(spec, {
      baseUrl: baseUrlFor(this.#urls, spec.broker, spec.environment),
      pacing: this.#pacing[spec.broker],
      pacerFor: (rules) => createPacer(label, rules),
    });
    const adapter = new GuardedAdapter(inner, label, this.#breaker, this.#rotate);
    adapter.onStateChange((state) => {
      countBreakerTransition(spec.broker, state);
      for (const listener of this.#listeners) listener({ connectionId: spec.id, broker: spec.broker, state });
    });
    this.#entries.set(spec.id, { version: spec.version, adapter });
    return adapter;
  }

  /** Called with every breaker state change (open, half-open, closed). */
  onBreakerChange(listener: (report: BreakerReport) => void): void {
    this.#listeners.push(listener);
  }

  breakerStates(): BreakerReport[] {
    return [...this.#entries].map(([connectionId, entry]) => ({
      connectionId,
      broker: entry.adapter.broker,
      state: entry.adapter.state,
    }));
  }

  /** The same with each breaker's recent failures, for the snapshot this process publishes (health.details). */
  breakerDetails(): BreakerDetail[] {
    return [...this.#entries].map(([connectionId, entry]) => ({
      connectionId,
      broker: entry.adapter.broker,
      state: entry.adapter.state,
      failures: entry.adapter.failures,
    }));
  }

  /** Drops a connection's adapter (disconnected or deleted). */
  forget(connectionId: number): void {
    this.#entries.get(connectionId)?.adapter.shutdown();
    this.#entries.delete(connectionId);
  }

  close(): void {
    clearInterval(this.#timer);
    for (const entry of this.#entries.values()) entry.adapter.shutdown();
    this.#entries.clear();
  }
}
