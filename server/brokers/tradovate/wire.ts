/**
 * Reading Tradovate's answers (BROKERS.md §2.5): most failures arrive with HTTP 200 and an error field in the body
 * (`failureReason`/`failureText`, `violations`, `errorText`, or a penalty ticket), so every reply is checked for
 * both its status and its body before anything else looks at it.
 */
import { BrokerAuthExpired, BrokerRejected, BrokerUnavailable } from '../errors.ts';
import type { BrokerResponse } from '../http.ts';
import { asRecord } from '../http.ts';

/** Broker texts reach the trader; keep them readable and bounded. */
export function brokerText(value: unknown, max = 300): string {
  const text = typeof value === 'string' ? value.replace(/\s+/g, ' ').trim() : '';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A penalty ticket (§2.1 step 2): the request was NOT processed; resend it with the ticket after `seconds`. */
export interface PenaltyTicket {
  ticket: string;
  seconds: number;
  captcha: boolean;
}

export function penaltyOf(json: unknown): PenaltyTicket | null {
  const body = asRecord(json);
  const ticket = body['p-ticket'];
  if (typeof ticket !== 'string' || ticket === '') {
    // A captcha demand may come without a usable ticket; it still stops the application.
    return body['p-captcha'] === true ? { ticket: '', seconds: 3600, captcha: true } : null;
  }
  const time = Number(body['p-time']);
  return { ticket, seconds: Number.isFinite(time) && time > 0 ? time : 0, captcha: body['p-captcha'] === true };
}

export const CAPTCHA_MESSAGE = 'Tradovate requires a captcha; wait about an hour before logging in again';

function retryAfterMs(response: BrokerResponse): number | undefined {
  const header = response.headers['retry-after'];
  const value = Number(Array.isArray(header) ? header[0] : header);
  return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
}

/**
 * The typed error for a non-200 status (401 is the session layer's business and 404 the caller's, so neither is
 * handled here). `lockoutMs`: how long a 429 means on this endpoint when the broker gives no Retry-After.
 */
export function statusError(response: BrokerResponse, path: string, lockoutMs?: number): Error {
  const { status } = response;
  const said = brokerText(response.text, 200);
  const detail = said ? `: ${said}` : '';
  if (status === 429) {
    const wait = retryAfterMs(response) ?? lockoutMs;
    return new BrokerUnavailable(`Tradovate rate limit reached on ${path} (HTTP 429); retry later`, {
      ...(wait !== undefined ? { retryAfterMs: wait } : {}),
    });
  }
  if (status === 423) {
    // "Lockout imminent": back off rather than earn the hour-long lockout.
    return new BrokerUnavailable(`Tradovate warns of an imminent lockout on ${path}; slowing down`, {
      retryAfterMs: retryAfterMs(response) ?? 60_000,
    });
  }
  if (status >= 500) return new BrokerUnavailable(`Tradovate server error on ${path} (HTTP ${status})${detail}`);
  if (status === 400) {
    return new BrokerRejected(`Tradovate rejected a malformed request to ${path}${detail}`, { brokerCode: 400 });
  }
  if (status === 404) return new BrokerRejected(`Tradovate does not know ${path}`, { brokerCode: 404 });
  if (status >= 400)
    return new BrokerRejected(`Tradovate refused ${path} (HTTP ${status})${detail}`, { brokerCode: status });
  return new BrokerUnavailable(`Tradovate answered ${path} with HTTP ${status}`);
}

/**
 * The business failure inside a 200 body, or null: `failureReason` other than Success (order commands),
 * `violations` (validation), non-empty `errorText` (simple-response endpoints). `what` names the action for the
 * trader, e.g. "the order".
 */
export function bodyFailure(json: unknown, what: string): BrokerRejected | null {
  const body = asRecord(json);
  const reason = body.failureReason;
  if (typeof reason === 'string' && reason !== '' && reason !== 'Success') {
    const text = brokerText(body.failureText) || reason;
    return new BrokerRejected(`Tradovate rejected ${what}: ${text} (${reason})`, { brokerCode: reason });
  }
  if (Array.isArray(body.violations) && body.violations.length > 0) {
    const rows = body.violations.map(asRecord);
    const texts = rows.map((v) => brokerText(v.description) || brokerText(v.constraint)).filter(Boolean);
    const code = rows.map((v) => v.constraint).find((c) => typeof c === 'string');
    return new BrokerRejected(`Tradovate rejected ${what}: ${texts.join('; ') || 'invalid request'}`, {
      brokerCode: typeof code === 'string' ? code : 'violations',
    });
  }
  const errorText = brokerText(body.errorText);
  if (errorText) return new BrokerRejected(`Tradovate rejected ${what}: ${errorText}`);
  return null;
}

export interface TokenReply {
  accessToken: string;
  expiresAtMs: number;
}

/** Partner pages give 80 or 90 min; without an expirationTime assume the shorter. */
const ASSUMED_LIFETIME_MS = 80 * 60_000;

/**
 * An accesstokenrequest/renewaccesstoken body: errorText means the login failed (HTTP 200 all the same), a
 * userStatus other than Active cannot trade, and no token at all is a broken answer (retryable).
 */
export function tokenReply(json: unknown, nowMs: number, action: 'login' | 'token renewal'): TokenReply {
  const body = asRecord(json);
  const errorText = brokerText(body.errorText);
  if (errorText) return fail(new BrokerAuthExpired(`Tradovate ${action} failed: ${errorText}`));
  if (typeof body.userStatus === 'string' && body.userStatus !== 'Active') {
    const status = brokerText(body.userStatus, 40);
    return fail(new BrokerAuthExpired(`Tradovate user status is ${status}; it must be Active to trade`));
  }
  if (typeof body.accessToken !== 'string' || body.accessToken === '') {
    return fail(new BrokerUnavailable(`Tradovate ${action}: the answer held no access token`));
  }
  const expires = typeof body.expirationTime === 'string' ? Date.parse(body.expirationTime) : Number.NaN;
  return {
    accessToken: body.accessToken,
    expiresAtMs: Number.isFinite(expires) ? expires : nowMs + ASSUMED_LIFETIME_MS,
  };
}

function fail(error: Error): never {
  throw error;
}
