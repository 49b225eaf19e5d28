/**
 * The Tradovate REST adapter (BROKERS.md §2). One instance per connection: it holds that connection's session
 * (token, renewal), its resolved account and a contract-name cache. Order calls live in ./orders.ts, the session
 * in ./session.ts, entity mapping in ./mapping.ts.
 */
import { Big } from 'big.js';
import { BrokerAuthExpired, BrokerRejected } from '../errors.ts';
import { asRecord, decimalOf } from '../http.ts';
import type { PacingRules } from '../pacing.ts';
import type {
  AdapterConfig,
  BrokerAccount,
  BrokerAdapter,
  CallOptions,
  SessionStatus,
  TradovateCredentials,
} from '../types.ts';
import { SingleFlight } from './flight.ts';
import { idOf, positionsOf, type Row, rows } from './mapping.ts';
import {
  cancelOrder,
  getOpenOrders,
  getOrder,
  getOrderByClientId,
  type OrderContext,
  read,
  submitOrder,
  type TradovateAccountRef,
} from './orders.ts';
import { TradovateSession } from './session.ts';
import { statusError } from './wire.ts';

/**
 * Pacing per connection (BROKERS.md §2.6). Tradovate's limits are deliberately variable; the partner table gives
 * 5,000 authenticated requests per user and prints the same figure per hour, minute and second. Read as the
 * strictest of those, 5,000 per hour, 80 per minute (4,800 an hour) stays inside it even when sustained, while
 * still allowing a burst of reads for one order (item, versions, fills, commands). The endpoint limits are
 * per rolling hour: `auth` (accesstokenrequest, 5 — Tradovate counts only failures, we count every login so a
 * failing one can never earn the penalty) and `renew` (renewaccesstoken, 15, every call counts). A login normally
 * happens once per connection and a renewal about every 75 minutes, so neither bucket binds in normal use.
 */
export const TRADOVATE_PACING: PacingRules = {
  default: { points: 80, windowSeconds: 60 },
  auth: { points: 5, windowSeconds: 3600 },
  renew: { points: 15, windowSeconds: 3600 },
};

export interface TradovateAdapterOptions {
  /** The clock token expiry and penalty waits are measured with (tests follow the fake's advanceable clock). */
  now?: () => number;
}

/**
 * The account to trade: the one named `wanted` when given (credentials carry no account name today), otherwise the
 * first active one.
 */
export function pickAccount(accounts: Row[], wanted?: string): TradovateAccountRef {
  const usable = accounts.filter((a) => a.active !== false && a.archived !== true && idOf(a.id) !== null);
  const chosen = wanted === undefined ? usable[0] : usable.find((a) => a.name === wanted);
  const id = idOf(chosen?.id);
  if (!chosen || id === null) {
    const which = wanted === undefined ? 'an active account' : `an active account named ${wanted}`;
    throw new BrokerRejected(`Tradovate user has no ${which}`, { brokerCode: 'NoAccount' });
  }
  return { id, name: typeof chosen.name === 'string' && chosen.name !== '' ? chosen.name : String(id) };
}

export function createTradovateAdapter(
  config: AdapterConfig<TradovateCredentials>,
  options: TradovateAdapterOptions = {},
): BrokerAdapter {
  const session = new TradovateSession({
    baseUrl: config.baseUrl,
    credentials: config.credentials,
    pacer: config.pacer,
    now: options.now ?? Date.now,
  });
  let account: TradovateAccountRef | null = null;
  const accountLookup = new SingleFlight<TradovateAccountRef>('account lookup');
  const contractNames = new Map<number, string>();

  const ctx: OrderContext = {
    session,
    async account(signal) {
      if (account) return account;
      return accountLookup.run(async (own) => {
        account = pickAccount(rows(await read(session, '/account/list', { signal: own })));
        return account;
      }, signal);
    },
    /** Contract names by id, cached for the adapter's life (a contract's name never changes). */
    async symbols(contractIds, signal) {
      const missing = [...new Set(contractIds)].filter((id): id is number => id !== null && !contractNames.has(id));
      let found: Row[] = [];
      if (missing.length === 1) {
        const row = await read(
          session,
          '/contract/item',
          { query: { id: missing[0] ?? 0 }, signal },
          { notFound: true },
        );
        found = row === null ? [] : [asRecord(row)];
      } else if (missing.length > 1) {
        found = rows(await read(session, '/contract/items', { query: { ids: missing.join(',') }, signal }));
      }
      for (const contract of found) {
        const id = idOf(contract.id);
        if (id !== null && typeof contract.name === 'string') contractNames.set(id, contract.name);
      }
      return contractNames;
    },
  };

  return {
    broker: 'tradovate',

    async getAccount(callOptions?: CallOptions): Promise<BrokerAccount> {
      const signal = callOptions?.signal;
      const ref = await ctx.account(signal);
      const snapshot = asRecord(
        await read(
          session,
          '/cashBalance/getcashbalancesnapshot',
          { method: 'POST', body: { accountId: ref.id }, signal },
          { what: 'the cash balance request' },
        ),
      );
      const cash = decimalOf(snapshot.totalCashValue) ?? '0';
      const equity = decimalOf(snapshot.netLiq) ?? new Big(cash).plus(decimalOf(snapshot.openPnL) ?? '0').toFixed();
      // Tradovate reports margin, not buying power: what the account can still commit is equity above initial margin.
      const free = new Big(equity).minus(decimalOf(snapshot.initialMargin) ?? '0');
      return {
        accountId: ref.name,
        // The snapshot's currencyId 1 is USD, the currency of Tradovate's futures accounts.
        currency: 'USD',
        equity,
        cash,
        buyingPower: (free.gt(0) ? free : new Big(0)).toFixed(),
        status: 'Active',
        tradingBlocked: false,
      };
    },

    submitOrder: (order, callOptions) => submitOrder(ctx, order, callOptions?.signal),
    getOrderByClientId: (clientOrderId, callOptions) => getOrderByClientId(ctx, clientOrderId, callOptions?.signal),
    getOrder: (brokerOrderId, callOptions) => getOrder(ctx, brokerOrderId, callOptions?.signal),
    cancelOrder: (brokerOrderId, callOptions) => cancelOrder(ctx, brokerOrderId, callOptions?.signal),
    getOpenOrders: (callOptions) => getOpenOrders(ctx, callOptions?.signal),

    async getPositions(callOptions) {
      const signal = callOptions?.signal;
      const ref = await ctx.account(signal);
      const positionRows = rows(await read(session, '/position/list', { signal }));
      const mine = positionRows.filter((p) => idOf(p.accountId) === ref.id && Number(p.netPos) !== 0);
      const names = await ctx.symbols(
        mine.map((p) => idOf(p.contractId)),
        signal,
      );
      return positionsOf(mine, ref.id, names);
    },

    async checkSession(callOptions): Promise<SessionStatus> {
      try {
        const response = await session.call('/auth/me', { signal: callOptions?.signal });
        // A broker outage says nothing about the session: that stays an error (BrokerUnavailable), not ok: false.
        if (response.status !== 200) throw statusError(response, '/auth/me');
        return { ok: true, expiresAt: session.expiresAt };
      } catch (error) {
        if (error instanceof BrokerAuthExpired) return { ok: false, expiresAt: null, reason: error.message };
        throw error;
      }
    },

    async renewSession(callOptions): Promise<SessionStatus> {
      const expiresAt = await session.renew(callOptions?.signal);
      return { ok: true, expiresAt };
    },
  };
}
