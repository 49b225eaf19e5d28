/**
 * One Tradovate session per adapter instance (= per connection), BROKERS.md §2.1:
 * - POST /auth/accesstokenrequest, which answers 200 even when it fails (errorText) and may answer a penalty
 *   ticket instead of processing (wait p-time, resend the same body with "p-ticket"; p-captcha ends it);
 * - the token renewed with GET /auth/renewaccesstoken ahead of `expirationTime` (a new login would open a second
 *   session and can disconnect other users of the same credentials);
 * - concurrent callers share one login or renewal in flight;
 * - a 401 on a call drops the token and logs in once more; a second 401 means the credentials no longer work.
 */
import { createHash } from 'node:crypto';
import type { TradovateCredentials } from '#shared/schemas/brokers.ts';
import { BrokerAuthExpired, BrokerUnavailable } from '../errors.ts';
import { type BrokerResponse, brokerRequest } from '../http.ts';
import type { Pacer } from '../pacing.ts';
import { abortable, SingleFlight, sleep } from './flight.ts';
import { brokerText, CAPTCHA_MESSAGE, penaltyOf, statusError, type TokenReply, tokenReply } from './wire.ts';

/** Longest p-time we sit out inside a call; beyond it the caller is told when to come back. */
export const MAX_PENALTY_WAIT_MS = 60_000;
/** A resend can earn a new ticket (early resends double the wait); give up after this many tickets in one call. */
const MAX_PENALTY_ROUNDS = 3;
/** Renew this long before expiry (BROKERS.md §2.1: about 15 min), or at half-life for short-lived tokens. */
const RENEW_AHEAD_MS = 15 * 60_000;
/** After a failed renewal, while the token still works, try again at most this often. */
const RENEW_RETRY_MS = 60_000;
/** A 429 on the token request is the hour-long lockout (BROKERS.md §2.5). */
const LOGIN_LOCKOUT_MS = 3_600_000;

const LOGIN = '/auth/accesstokenrequest';
const RENEW = '/auth/renewaccesstoken';

export interface SessionOptions {
  baseUrl: string;
  credentials: TradovateCredentials;
  pacer: Pacer;
  now: () => number;
}

export interface CallInit {
  method?: 'GET' | 'POST';
  body?: Record<string, unknown>;
  query?: Record<string, string | number>;
  signal?: AbortSignal | undefined;
  /** A pacing bucket of TRADOVATE_PACING besides `default`. */
  bucket?: string;
}

interface Token {
  accessToken: string;
  expiresAtMs: number;
  renewAtMs: number;
}

interface Ticket {
  ticket: string;
  readyAtMs: number;
}

export class TradovateSession {
  readonly #baseUrl: string;
  readonly #credentials: TradovateCredentials;
  readonly #pacer: Pacer;
  readonly #now: () => number;
  readonly #deviceId: string;
  readonly #auth = new SingleFlight<Token>('login');
  #token: Token | null = null;
  /** Unused penalty tickets of the auth endpoints: a later attempt must resend with its ticket, never without. */
  readonly #tickets = new Map<string, Ticket>();
  /** One pending reservation per named bucket, so abandoned attempts cannot pile up hour-long queue entries. */
  readonly #reserved = new Map<string, Promise<void>>();

  constructor(options: SessionOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#credentials = options.credentials;
    this.#pacer = options.pacer;
    this.#now = options.now;
    // The server stores a generated deviceId with the credentials; this fallback is stable per user and app, so a
    // missing one still never changes between calls (live Tradovate answers 401 to a changing deviceId).
    this.#deviceId =
      options.credentials.deviceId ??
      createHash('sha256')
        .update(`fillpath|${options.credentials.name}|${String(options.credentials.cid)}|${options.credentials.appId}`)
        .digest('hex')
        .slice(0, 32);
  }

  get expiresAt(): Date | null {
    return this.#token ? new Date(this.#token.expiresAtMs) : null;
  }

  /**
   * An authenticated call, after pacing and with the token kept fresh. Returns the final response (never a
   * penalty ticket, never a 401); the caller interprets the other statuses and the body.
   */
  async call(path: string, init: CallInit = {}): Promise<BrokerResponse> {
    const first = await this.#bearer(init.signal);
    const response = await this.#exchange(path, init, first);
    if (response.status !== 401) return response;
    // Expired or revoked behind our back (another login, a server restart): one fresh login, then give up.
    if (this.#token?.accessToken === first) this.#token = null;
    const second = await this.#bearer(init.signal);
    const retried = await this.#exchange(path, init, second);
    if (retried.status !== 401) return retried;
    if (this.#token?.accessToken === second) this.#token = null;
    const said = brokerText(retried.text, 120) || 'HTTP 401';
    throw new BrokerAuthExpired(`Tradovate denied access (${said}); log in to the connection again`);
  }

  /** Forces a renewal (or a login when there is no usable token) and returns the new token's expiry. */
  async renew(signal?: AbortSignal): Promise<Date> {
    const token = await this.#auth.run((own) => this.#obtain(own), signal);
    return new Date(token.expiresAtMs);
  }

  /** A token that is valid now: the current one, or one from the shared login/renewal in flight. */
  async #bearer(signal: AbortSignal | undefined): Promise<string> {
    const current = this.#token;
    if (current && this.#now() < current.renewAtMs) return current.accessToken;
    try {
      return (await this.#auth.run((own) => this.#obtain(own), signal)).accessToken;
    } catch (error) {
      // A renewal that failed for a passing reason does not stop a token that still works.
      const still = this.#token;
      if (error instanceof BrokerUnavailable && !signal?.aborted && still && this.#now() < still.expiresAtMs) {
        return still.accessToken;
      }
      throw error;
    }
  }

  /** The body of the shared flight: renew a token that still works, otherwise log in. */
  async #obtain(signal: AbortSignal): Promise<Token> {
    const current = this.#token;
    if (current && this.#now() < current.expiresAtMs) {
      try {
        const renewed = await this.#renewToken(current, signal);
        if (renewed) return this.#store(renewed);
      } catch (error) {
        if (error instanceof BrokerUnavailable) {
          current.renewAtMs = Math.min(current.expiresAtMs, this.#now() + RENEW_RETRY_MS);
        }
        throw error;
      }
    }
    this.#token = null;
    return this.#store(await this.#login(signal));
  }

  #store(reply: TokenReply): Token {
    const lifetime = Math.max(0, reply.expiresAtMs - this.#now());
    const token = {
      accessToken: reply.accessToken,
      expiresAtMs: reply.expiresAtMs,
      renewAtMs: reply.expiresAtMs - Math.min(RENEW_AHEAD_MS, lifetime / 2),
    };
    this.#token = token;
    return token;
  }

  async #login(signal: AbortSignal): Promise<TokenReply> {
    const c = this.#credentials;
    const body = {
      name: c.name,
      password: c.password,
      appId: c.appId,
      appVersion: c.appVersion,
      deviceId: this.#deviceId,
      cid: c.cid,
      sec: c.sec,
    };
    const response = await this.#exchange(LOGIN, { method: 'POST', body, signal, bucket: 'auth' });
    if (response.status !== 200) {
      const passing = response.status === 429 || response.status === 423 || response.status >= 500;
      if (passing) throw statusError(response, LOGIN, LOGIN_LOCKOUT_MS);
      throw new BrokerAuthExpired(`Tradovate refused the login (HTTP ${response.status})`);
    }
    return tokenReply(response.json, this.#now(), 'login');
  }

  /** The renewed token, or null when the old one no longer works (then the caller logs in). */
  async #renewToken(current: Token, signal: AbortSignal): Promise<TokenReply | null> {
    const response = await this.#exchange(RENEW, { method: 'GET', signal, bucket: 'renew' }, current.accessToken);
    if (response.status === 401) return null;
    if (response.status !== 200) throw statusError(response, RENEW);
    const body = response.json;
    if (body !== null && typeof body === 'object' && brokerText((body as { errorText?: unknown }).errorText)) {
      return null;
    }
    return tokenReply(body, this.#now(), 'token renewal');
  }

  /** One request with the penalty-ticket protocol around it. */
  async #exchange(path: string, init: CallInit, bearer?: string): Promise<BrokerResponse> {
    const remember = path.startsWith('/auth/');
    let ticket = remember ? this.#tickets.get(path) : undefined;
    for (let round = 1; ; round += 1) {
      if (ticket) await this.#sitOut(path, ticket, init.signal);
      const response = await this.#send(path, init, bearer, ticket?.ticket);
      const penalty = response.status === 200 ? penaltyOf(response.json) : null;
      if (!penalty) {
        if (remember) this.#tickets.delete(path);
        return response;
      }
      if (penalty.captcha) {
        this.#tickets.delete(path);
        throw new BrokerAuthExpired(CAPTCHA_MESSAGE);
      }
      ticket = { ticket: penalty.ticket, readyAtMs: this.#now() + penalty.seconds * 1000 };
      if (remember) this.#tickets.set(path, ticket);
      if (round >= MAX_PENALTY_ROUNDS) {
        throw new BrokerUnavailable(`Tradovate keeps penalising ${path}; retry in ${penalty.seconds} s`, {
          retryAfterMs: penalty.seconds * 1000,
        });
      }
    }
  }

  async #sitOut(path: string, ticket: Ticket, signal: AbortSignal | undefined): Promise<void> {
    const wait = ticket.readyAtMs - this.#now();
    if (wait > MAX_PENALTY_WAIT_MS) {
      // p-time comes in whole seconds; so does the wait we report.
      const seconds = Math.ceil(wait / 1000);
      throw new BrokerUnavailable(`Tradovate asked to wait ${seconds} s before calling ${path} again`, {
        retryAfterMs: seconds * 1000,
      });
    }
    if (wait > 0) await sleep(wait, signal, 'the penalty wait');
  }

  async #send(path: string, init: CallInit, bearer: string | undefined, ticket: string | undefined) {
    await this.#take(init.bucket, init.signal);
    const method = init.method ?? 'GET';
    const url = new URL(`${this.#baseUrl}${path}`);
    for (const [key, value] of Object.entries(init.query ?? {})) url.searchParams.set(key, String(value));
    let body: Record<string, unknown> | undefined = init.body;
    if (ticket && method === 'GET') url.searchParams.set('p-ticket', ticket);
    else if (ticket) body = { ...body, 'p-ticket': ticket };
    return brokerRequest('Tradovate', url.toString(), {
      method,
      ...(bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {}),
      ...(body !== undefined ? { body } : {}),
      ...(init.signal ? { signal: init.signal } : {}),
    });
  }

  async #take(bucket: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    if (!bucket) return abortable(this.#pacer.take(), signal, 'waiting for the rate budget');
    for (;;) {
      let pending = this.#reserved.get(bucket);
      if (!pending) {
        const created = this.#pacer.take(bucket);
        created.catch(() => {
          if (this.#reserved.get(bucket) === created) this.#reserved.delete(bucket);
        });
        this.#reserved.set(bucket, created);
        pending = created;
      }
      await abortable(pending, signal, 'waiting for the rate budget');
      if (this.#reserved.get(bucket) !== pending) continue; // someone else used this reservation
      this.#reserved.delete(bucket);
      return;
    }
  }
}
