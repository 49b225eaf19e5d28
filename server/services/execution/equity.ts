/**
 * Account equity for percent_of_equity sizing, fetched from the broker before the engine's transaction (a broker
 * call must never run while the strategy's lock is held), and only when a signal needs it.
 */
import type { Signal } from '#shared/schemas/signal.ts';
import { BrokerAuthExpired } from '../../brokers/errors.ts';
import type { ServiceContext } from '../context.ts';
import type { ExecutionRoute } from './routes.ts';
import { needsEquity, type SizingRules } from './sizing.ts';

export interface AccountEquity {
  /** The connection's account equity (through the registry's guarded adapter). */
  equityOf(ctx: ServiceContext, connectionId: number): Promise<string>;
}

/**
 * Equity per connection id for the routes that need it. An expired session leaves the connection out (the plan
 * then rejects the route with missing-equity, and the session upkeep reports the connection); an unavailable
 * broker throws, so the signal job retries with backoff while the log stays `received`.
 */
export async function equityForRoutes(
  ctx: ServiceContext,
  equity: AccountEquity,
  signal: Signal,
  sizing: SizingRules,
  routes: ExecutionRoute[],
): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  if (!needsEquity(signal, sizing)) return found;
  for (const route of routes) {
    if (found.has(route.connectionId)) continue;
    try {
      found.set(route.connectionId, await equity.equityOf(ctx, route.connectionId));
    } catch (error) {
      if (!(error instanceof BrokerAuthExpired)) throw error;
      ctx.log.warn({ connectionId: route.connectionId }, 'equity unavailable: broker session expired');
    }
  }
  return found;
}
