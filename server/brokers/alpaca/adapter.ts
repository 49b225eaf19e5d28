/**
 * The Alpaca Trading API v2 adapter (BROKERS.md §1). API keys never expire, so a session is simply "the keys still
 * work": checkSession and renewSession both read the account.
 */
import { BrokerUnavailable } from '../errors.ts';
import type { PacingRules } from '../pacing.ts';
import type {
  AdapterConfig,
  AlpacaCredentials,
  BrokerAccount,
  BrokerAdapter,
  BrokerPosition,
  CallOptions,
  SessionStatus,
} from '../types.ts';
import { alpacaError, BROKER_NAME, createAlpacaClient, errorBodyOf } from './client.ts';
import { mapAccount, mapPosition } from './mapping.ts';
import { createOrderCalls } from './orders.ts';

/** §1.7: 200 requests per minute per API key; no endpoint has a limit of its own. */
export const ALPACA_PACING: PacingRules = { default: { points: 200, windowSeconds: 60 } };

export function createAlpacaAdapter(config: AdapterConfig<AlpacaCredentials>): BrokerAdapter {
  const client = createAlpacaClient(config);
  const orders = createOrderCalls(client);

  async function getAccount(options?: CallOptions): Promise<BrokerAccount> {
    const response = await client.call('/v2/account', { signal: options?.signal });
    if (response.status !== 200) throw alpacaError(response, 'the account request');
    const account = mapAccount(response.json);
    if (!account) throw new BrokerUnavailable(`${BROKER_NAME} answered an unreadable account`);
    return account;
  }

  async function getPositions(options?: CallOptions): Promise<BrokerPosition[]> {
    const response = await client.call('/v2/positions', { signal: options?.signal });
    if (response.status !== 200) throw alpacaError(response, 'the positions request');
    const rows = Array.isArray(response.json) ? response.json.map(mapPosition) : null;
    if (!rows || rows.some((row) => row === null)) {
      throw new BrokerUnavailable(`${BROKER_NAME} answered an unreadable position list`);
    }
    return rows.filter((row): row is BrokerPosition => row !== null);
  }

  /** ok when the keys read the account; a key failure (401, or 403 on the account) is ok:false, never a throw. */
  async function checkSession(options?: CallOptions): Promise<SessionStatus> {
    const response = await client.call('/v2/account', { signal: options?.signal });
    if (response.status === 200) return { ok: true, expiresAt: null };
    if (response.status === 401 || response.status === 403) {
      return {
        ok: false,
        expiresAt: null,
        reason: `${BROKER_NAME} rejected the API keys (${errorBodyOf(response).message})`,
      };
    }
    throw alpacaError(response, 'the account request');
  }

  return {
    broker: 'alpaca',
    getAccount,
    submitOrder: orders.submitOrder,
    getOrderByClientId: orders.getOrderByClientId,
    getOrder: orders.getOrder,
    cancelOrder: orders.cancelOrder,
    getPositions,
    getOpenOrders: orders.getOpenOrders,
    checkSession,
    // Keys do not expire and there is nothing to renew; checking is the honest answer.
    renewSession: checkSession,
  };
}
