/**
 * Builds the raw adapter of a connection from its broker, credentials and base URL, paced by the broker's published
 * limits unless the registry was given others.
 */
import type { AlpacaCredentials, IbkrCredentials, TradovateCredentials } from '#shared/schemas/brokers.ts';
import { ALPACA_PACING, createAlpacaAdapter } from './alpaca/index.ts';
import { createIbkrAdapter, IBKR_PACING } from './ibkr/adapter.ts';
import type { Pacer, PacingRules } from './pacing.ts';
import type { ConnectionSpec } from './registry.ts';
import { createTradovateAdapter, TRADOVATE_PACING } from './tradovate/index.ts';
import type { BrokerAdapter } from './types.ts';

export interface FactoryOptions {
  baseUrl: string;
  /** Overrides the broker's own limits (tests, or a deployment with a negotiated budget). */
  pacing: PacingRules | undefined;
  pacerFor: (rules: PacingRules) => Pacer;
}

// The Client Portal gateway runs on the trader's own machine with a self-signed certificate; only there is it accepted.
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function createAdapter(spec: ConnectionSpec, options: FactoryOptions): BrokerAdapter {
  const common = { baseUrl: options.baseUrl, environment: spec.environment };
  switch (spec.broker) {
    case 'alpaca':
      return createAlpacaAdapter({
        ...common,
        credentials: spec.credentials as AlpacaCredentials,
        pacer: options.pacerFor(options.pacing ?? ALPACA_PACING),
      });
    case 'tradovate':
      return createTradovateAdapter({
        ...common,
        credentials: spec.credentials as TradovateCredentials,
        pacer: options.pacerFor(options.pacing ?? TRADOVATE_PACING),
      });
    case 'ibkr':
      return createIbkrAdapter({
        ...common,
        credentials: spec.credentials as IbkrCredentials,
        pacer: options.pacerFor(options.pacing ?? IBKR_PACING),
        allowSelfSignedTls: LOOPBACK_HOSTS.has(new URL(options.baseUrl).hostname),
      });
  }
}
