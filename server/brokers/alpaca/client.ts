/**
 * Alpaca's HTTP layer (BROKERS.md §1.1, §1.6, §1.7): key headers on every call, the connection's pacing budget before
 * every call, and the one translation of Alpaca's error answers into the three broker errors.
 */
import { BrokerAuthExpired, BrokerRejected, BrokerUnavailable } from '../errors.ts';
import { asRecord, type BrokerResponse, brokerRequest } from '../http.ts';
import type { AdapterConfig, AlpacaCredentials } from '../types.ts';

export const BROKER_NAME = 'Alpaca';

export interface AlpacaCall {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal | undefined;
}

export interface AlpacaClient {
  /** One paced HTTP call; answers every status (callers decide which ones are expected) and throws only on transport. */
  call(path: string, init?: AlpacaCall): Promise<BrokerResponse>;
}

export function createAlpacaClient(config: AdapterConfig<AlpacaCredentials>): AlpacaClient {
  const base = config.baseUrl.replace(/\/+$/, '');
  const headers = {
    'APCA-API-KEY-ID': config.credentials.keyId,
    'APCA-API-SECRET-KEY': config.credentials.secretKey,
  };
  return {
    async call(path, init = {}) {
      // Alpaca has one budget per key (200/min), so every call takes from the default bucket only.
      await config.pacer.take();
      return brokerRequest(BROKER_NAME, `${base}${path}`, {
        method: init.method ?? 'GET',
        headers,
        body: init.body,
        signal: init.signal,
      });
    },
  };
}

export interface AlpacaErrorBody {
  /** The 8-digit code (it starts with the HTTP status), when the body has one. */
  code: number | undefined;
  /** The broker's reason in plain words, or "HTTP <status>" when the body says nothing readable. */
  message: string;
}

const MAX_MESSAGE = 300;

/** Reads `{"code":…, "message":…}`; tolerates a missing code, a text body, or an empty one. */
export function errorBodyOf(response: BrokerResponse): AlpacaErrorBody {
  const body = asRecord(response.json);
  const code = typeof body.code === 'number' ? body.code : typeof body.code === 'string' ? Number(body.code) : NaN;
  let message = typeof body.message === 'string' ? body.message : '';
  // A short plain-text body is still the broker's words; an HTML error page is not worth showing a trader.
  if (message === '' && response.json === undefined && !/^\s*</.test(response.text)) message = response.text;
  message = message.replace(/\s+/g, ' ').trim().slice(0, MAX_MESSAGE);
  return { code: Number.isFinite(code) ? code : undefined, message: message || `HTTP ${response.status}` };
}

/** 422 {"code":40010001,"message":"client_order_id must be unique"}: the order already exists (§1.8). */
export function isDuplicateClientId(response: BrokerResponse): boolean {
  if (response.status !== 422) return false;
  const { message } = errorBodyOf(response);
  return /client[_ ]order[_ ]id/i.test(message) && /unique|duplicate|already/i.test(message);
}

/**
 * 401 is always the keys. 403 is the keys only when the body is the bare {"message":"forbidden."} (no code, [I3]);
 * with a code (40310000) it is a trading refusal: buying power, shares held, shorting, account blocked.
 */
export function isKeyFailure(response: BrokerResponse): boolean {
  if (response.status === 401) return true;
  if (response.status !== 403) return false;
  const { code, message } = errorBodyOf(response);
  return code === undefined && /forbidden|not authorized|unauthorized/i.test(message);
}

/** Ceiling for a reset time: Alpaca's window is one minute, so anything much later is a bad header. */
const MAX_RETRY_AFTER_MS = 5 * 60_000;

/** From X-Ratelimit-Reset (epoch seconds; epoch ms tolerated) or, failing that, a Retry-After in seconds. */
export function retryAfterMsOf(response: BrokerResponse, nowMs = Date.now()): number | undefined {
  const reset = Number(headerOf(response, 'x-ratelimit-reset'));
  if (Number.isFinite(reset) && reset > 0) {
    const resetMs = reset > 1e11 ? reset : reset * 1000;
    return Math.min(Math.max(0, Math.ceil(resetMs - nowMs)), MAX_RETRY_AFTER_MS);
  }
  const retryAfter = Number(headerOf(response, 'retry-after'));
  if (Number.isFinite(retryAfter) && retryAfter >= 0) return Math.min(retryAfter * 1000, MAX_RETRY_AFTER_MS);
  return undefined;
}

function headerOf(response: BrokerResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The typed error for a non-success answer. `subject` names what was refused ("the order", "the cancel request")
 * so the message reads well for a trader: "Alpaca rejected the order: insufficient buying power".
 */
export function alpacaError(response: BrokerResponse, subject = 'the request'): Error {
  const { status } = response;
  const { code, message } = errorBodyOf(response);
  if (isKeyFailure(response)) return new BrokerAuthExpired(`${BROKER_NAME} rejected the API keys (${message})`);
  if (status === 429) {
    return new BrokerUnavailable(`${BROKER_NAME} rate limit exceeded (${message})`, {
      retryAfterMs: retryAfterMsOf(response),
    });
  }
  if (status >= 500 || status === 408) {
    return new BrokerUnavailable(`${BROKER_NAME} is unavailable (HTTP ${status}: ${message})`);
  }
  if (status >= 400) {
    return new BrokerRejected(`${BROKER_NAME} rejected ${subject}: ${message}`, {
      ...(code === undefined ? {} : { brokerCode: code }),
    });
  }
  // 1xx/3xx, or a 2xx the caller could not read: nothing final was said, so a retry (after a lookup) is the answer.
  return new BrokerUnavailable(`${BROKER_NAME} gave an unexpected answer (HTTP ${status})`);
}
