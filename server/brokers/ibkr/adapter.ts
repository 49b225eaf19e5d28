/**
 * The IBKR Client Portal gateway adapter (BROKERS.md §3). The gateway holds the login (a person logs in through a
 * browser), so the adapter's credentials are only the account id; everything else is in session.ts (session upkeep
 * and per-session chores), contracts.ts (conids), orders.ts (submission, questions, lookups) and portfolio.ts.
 */
import type { PacingRules } from '../pacing.ts';
import type { AdapterConfig, BrokerAdapter, IbkrCredentials } from '../types.ts';
import { ContractDirectory } from './contracts.ts';
import { Gateway, gatewayDispatcher } from './gateway.ts';
import { IbkrOrders } from './orders.ts';
import { account, positions } from './portfolio.ts';
import { IbkrSession } from './session.ts';

/**
 * §3.8: 10 requests/s through the gateway; 1 per 5 s on live orders (`orders`), and on trades and
 * /portfolio/accounts, which have their own 1-per-5-s limits (separate buckets so they don't queue behind live
 * orders); /tickle 1/s.
 */
export const IBKR_PACING: PacingRules = {
  default: { points: 10, windowSeconds: 1 },
  orders: { points: 1, windowSeconds: 5 },
  trades: { points: 1, windowSeconds: 5 },
  portfolioAccounts: { points: 1, windowSeconds: 5 },
  tickle: { points: 1, windowSeconds: 1 },
};

export interface IbkrAdapterConfig extends AdapterConfig<IbkrCredentials> {
  /** Accept the gateway's self-signed certificate; honoured for a loopback gateway host only. */
  allowSelfSignedTls?: boolean;
}

export function createIbkrAdapter(config: IbkrAdapterConfig): BrokerAdapter {
  const gateway = new Gateway(
    config.baseUrl,
    config.pacer,
    gatewayDispatcher(config.baseUrl, config.allowSelfSignedTls),
  );
  const session = new IbkrSession(gateway, config.credentials.accountId);
  const contracts = new ContractDirectory(session);
  const orders = new IbkrOrders(session, contracts);
  return {
    broker: 'ibkr',
    getAccount: (options) => account(session, options?.signal),
    submitOrder: (order, options) => orders.submit(order, options?.signal),
    getOrderByClientId: (clientOrderId, options) => orders.byClientId(clientOrderId, options?.signal),
    getOrder: (brokerOrderId, options) => orders.byId(brokerOrderId, options?.signal),
    cancelOrder: (brokerOrderId, options) => orders.cancel(brokerOrderId, options?.signal),
    getPositions: (options) => positions(session, contracts, options?.signal),
    getOpenOrders: (options) => orders.open(options?.signal),
    checkSession: (options) => session.check(options?.signal),
    renewSession: (options) => session.renew(options?.signal),
  };
}
