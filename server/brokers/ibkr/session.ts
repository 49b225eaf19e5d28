/**
 * The gateway session (BROKERS.md §3.2): there is no API login, a person logs in to the gateway in a browser; the
 * adapter checks auth status, keeps the session alive with /tickle, restores a dropped brokerage session while the
 * SSO login is alive, and does the per-session chores IBKR demands before trading: /iserver/accounts before any order
 * call, /portfolio/accounts before portfolio calls, question suppression once. Those chores are redone after any
 * sign of a new session (a 401, not authenticated, or the gateway asking for them again).
 */
import { BrokerAuthExpired, BrokerUnavailable } from '../errors.ts';
import { asRecord, type BrokerResponse } from '../http.ts';
import type { SessionStatus } from '../types.ts';
import { errorText, type Gateway, type GatewayCall } from './gateway.ts';

/**
 * Order-reply questions that only ask to proceed (no market data, price or size constraints, market-order and
 * stop-order risk, cap prices, cash quantity). Suppressing them saves a round trip per order; the reply loop would
 * confirm them anyway. Ids from IBKR's list of suppressible messages.
 */
export const IBKR_SUPPRESSED_QUESTIONS = [
  'o163',
  'o354',
  'o382',
  'o383',
  'o403',
  'o451',
  'o10151',
  'o10152',
  'o10153',
  'o10164',
  'o10223',
  'o10331',
];

const COMPETING =
  'IBKR brokerage session is taken by another login (TWS, the mobile app or another gateway): log in to the gateway again';
const NOT_CONNECTED = 'IBKR gateway is not connected to IBKR (maintenance or network): try again later';

/** What an endpoint needs done in this session before it may be called. */
export type Prerequisite = 'none' | 'accounts' | 'orders' | 'portfolio';

interface AuthStatus {
  authenticated: boolean;
  competing: boolean;
  connected: boolean;
  message: string;
}

export class IbkrSession {
  readonly gateway: Gateway;
  readonly accountId: string;
  private accountsFetched = false;
  private questionsSuppressed = false;
  private portfolioAccount: Record<string, unknown> | null = null;
  /** The first live-orders call of a session may answer an empty list while the gateway subscribes (§3.5). */
  liveOrdersPrimed = false;

  constructor(gateway: Gateway, accountId: string) {
    this.gateway = gateway;
    this.accountId = accountId;
    gateway.onSessionLost = () => this.reset();
  }

  reset(): void {
    this.accountsFetched = false;
    this.questionsSuppressed = false;
    this.portfolioAccount = null;
    this.liveOrdersPrimed = false;
  }

  /**
   * One call with its session prerequisites. When the gateway answers that the brokerage session is not started or
   * that a prerequisite is missing, the call was refused before doing anything, so it is safe to fix and repeat once.
   */
  async request(call: GatewayCall, needs: Prerequisite = 'none'): Promise<BrokerResponse> {
    for (let attempt = 0; ; attempt += 1) {
      if (needs !== 'none') await this.prepare(needs, call.signal);
      const response = await this.gateway.send(call);
      const error = errorText(response);
      if (error === null) return response;
      if (/init session first/i.test(error)) {
        if (attempt > 0)
          throw new BrokerUnavailable(`IBKR brokerage session is not started (${error}): try again shortly`);
        await this.restoreOrThrow(call.signal);
      } else if (attempt === 0 && /accounts first/i.test(error)) {
        // The gateway has a session we have not prepared (a new login between our calls).
        this.reset();
      } else {
        return response;
      }
    }
  }

  async prepare(needs: Exclude<Prerequisite, 'none'>, signal: AbortSignal | undefined): Promise<void> {
    if (needs === 'portfolio') {
      await this.portfolioAccountInfo(signal);
      return;
    }
    for (let attempt = 0; !this.accountsFetched; attempt += 1) {
      const response = await this.gateway.send({ path: '/iserver/accounts', signal });
      const error = errorText(response);
      if (error === null) {
        const accounts = asRecord(response.json).accounts;
        this.requireAccount(Array.isArray(accounts) ? accounts.map(String) : []);
        this.accountsFetched = true;
      } else if (attempt === 0 && /init session first/i.test(error)) {
        await this.restoreOrThrow(signal);
      } else {
        throw new BrokerUnavailable(`IBKR /iserver/accounts failed: ${error}`);
      }
    }
    if (needs === 'orders' && !this.questionsSuppressed) {
      // Best effort: without suppression the reply loop confirms the same questions, one round trip each.
      try {
        const response = await this.gateway.send({
          method: 'POST',
          path: '/iserver/questions/suppress',
          body: { messageIds: IBKR_SUPPRESSED_QUESTIONS },
          signal,
        });
        this.questionsSuppressed = errorText(response) === null;
      } catch (error) {
        if (!(error instanceof BrokerUnavailable) || signal?.aborted) throw error;
      }
    }
  }

  /** The /portfolio/accounts entry of this connection's account, fetched once per session (1 per 5 s pacing). */
  async portfolioAccountInfo(signal: AbortSignal | undefined): Promise<Record<string, unknown>> {
    if (this.portfolioAccount) return this.portfolioAccount;
    const response = await this.gateway.send({ path: '/portfolio/accounts', bucket: 'portfolioAccounts', signal });
    const error = errorText(response);
    if (error !== null) throw new BrokerUnavailable(`IBKR /portfolio/accounts failed: ${error}`);
    const list = Array.isArray(response.json) ? response.json.map(asRecord) : [];
    const ids = list.map((a) => String(a.accountId ?? a.id ?? ''));
    this.requireAccount(ids);
    const entry = list[ids.indexOf(this.accountId)] ?? {};
    this.portfolioAccount = entry;
    return entry;
  }

  private requireAccount(ids: string[]): void {
    if (ids.includes(this.accountId)) return;
    throw new BrokerAuthExpired(
      `IBKR account ${this.accountId} is not available in the gateway login${ids.length > 0 ? ` (it has ${ids.join(', ')})` : ''}: log in to the gateway with the user of that account`,
    );
  }

  async authStatus(signal: AbortSignal | undefined): Promise<AuthStatus> {
    const response = await this.gateway.send({ method: 'POST', path: '/iserver/auth/status', signal });
    const error = errorText(response);
    if (error !== null) throw new BrokerUnavailable(`IBKR auth status failed: ${error}`);
    return parseAuthStatus(response.json);
  }

  /**
   * The brokerage session dropped while the SSO login lives (§3.2 step 3): ssodh/init, then reauthenticate. A
   * competing session (TWS or the mobile app logged in) is not taken over: that would log the trader out there.
   * Answers why it could not be restored, or null once it is authenticated again.
   */
  async restoreBrokerageSession(signal: AbortSignal | undefined): Promise<AuthStatus | null> {
    this.reset();
    let status = await this.authStatus(signal);
    if (status.authenticated) return null;
    if (status.competing || !status.connected) return status;
    const init = await this.gateway.send({
      method: 'POST',
      path: '/iserver/auth/ssodh/init',
      body: { publish: true, compete: true },
      signal,
    });
    if (errorText(init) === null && parseAuthStatus(init.json).authenticated) return null;
    await this.gateway.send({ method: 'POST', path: '/iserver/reauthenticate', signal });
    status = await this.authStatus(signal);
    return status.authenticated ? null : status;
  }

  private async restoreOrThrow(signal: AbortSignal | undefined): Promise<void> {
    const failed = await this.restoreBrokerageSession(signal);
    if (!failed) return;
    if (failed.competing) throw new BrokerAuthExpired(COMPETING);
    throw new BrokerUnavailable(
      failed.connected ? 'IBKR brokerage session is being restored: try again shortly' : NOT_CONNECTED,
    );
  }

  /** Auth status only; never throws BrokerAuthExpired (a 401 means the gateway login is gone: ok false). */
  async check(signal: AbortSignal | undefined): Promise<SessionStatus> {
    try {
      const status = await this.authStatus(signal);
      if (status.authenticated) return { ok: true, expiresAt: null };
      this.reset();
      return { ok: false, expiresAt: null, reason: notAuthenticatedReason(status) };
    } catch (error) {
      if (error instanceof BrokerAuthExpired) return { ok: false, expiresAt: null, reason: error.message };
      throw error;
    }
  }

  /** /tickle keeps the session alive; a dropped brokerage session is restored when that needs no person. */
  async renew(signal: AbortSignal | undefined): Promise<SessionStatus> {
    try {
      const response = await this.gateway.send({ method: 'POST', path: '/tickle', bucket: 'tickle', signal });
      const body = asRecord(response.json);
      const fromTickle = asRecord(asRecord(body.iserver).authStatus);
      const status =
        errorText(response) === null && typeof fromTickle.authenticated === 'boolean'
          ? parseAuthStatus(fromTickle)
          : await this.authStatus(signal);
      const expiresAt = ssoExpiry(body.ssoExpires);
      if (status.authenticated) return { ok: true, expiresAt };
      const failed = await this.restoreBrokerageSession(signal);
      if (!failed) return { ok: true, expiresAt };
      return { ok: false, expiresAt: null, reason: notAuthenticatedReason(failed) };
    } catch (error) {
      if (error instanceof BrokerAuthExpired) return { ok: false, expiresAt: null, reason: error.message };
      throw error;
    }
  }
}

function parseAuthStatus(value: unknown): AuthStatus {
  const body = asRecord(value);
  return {
    authenticated: body.authenticated === true,
    competing: body.competing === true,
    connected: body.connected !== false,
    message: [body.message, body.fail].filter((m) => typeof m === 'string' && m.trim() !== '').join('; '),
  };
}

function notAuthenticatedReason(status: AuthStatus): string {
  if (status.competing) return COMPETING;
  if (!status.connected) return NOT_CONNECTED;
  const detail = status.message ? ` (${status.message})` : '';
  return `IBKR brokerage session is not authenticated${detail}: log in to the gateway again`;
}

/** `ssoExpires`: milliseconds left in the gateway builds we know of; an epoch timestamp is accepted as well. */
function ssoExpiry(value: unknown): Date | null {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return null;
  return new Date(value > 1e12 ? value : Date.now() + value);
}
