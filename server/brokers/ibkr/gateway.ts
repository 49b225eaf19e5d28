/**
 * The HTTP layer of the IBKR adapter: pacing before every call, the caller's AbortSignal, the self-signed TLS
 * exception for a local gateway, and the answers that mean the same on every endpoint (BROKERS.md §3.7): 401 → the
 * gateway login is gone, 429 → penalty box, 5xx → gateway or iserver down (also the nightly reset). Everything else
 * (including `{"error": …}` inside HTTP 200) is returned for the caller to interpret, because its meaning depends on
 * the endpoint (a rejected order, an unknown order id, a session that needs /iserver/accounts first, …).
 */
import type { Dispatcher } from 'undici';
import { BrokerAuthExpired, BrokerUnavailable } from '../errors.ts';
import { asRecord, type BrokerResponse, brokerRequest, selfSignedDispatcher } from '../http.ts';
import type { Pacer } from '../pacing.ts';

export const SESSION_EXPIRED = 'IBKR gateway session expired: log in to the gateway again';
/** §3.7: a 429 puts the IP into a 10-minute penalty box. */
const PENALTY_BOX_MS = 10 * 60_000;
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export interface GatewayCall {
  method?: 'GET' | 'POST' | 'DELETE';
  /** Relative to the base URL, e.g. `/iserver/auth/status`; path parameters already encoded. */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  /** The pacing bucket of endpoints with their own limit (§3.8); every call also takes from `default`. */
  bucket?: string;
  signal?: AbortSignal | undefined;
}

/**
 * The dispatcher for the gateway: the CP Gateway runs on the trader's machine with a self-signed certificate
 * (§3.1), so certificate checks are relaxed for a loopback host only, and never for any other host even when asked.
 */
export function gatewayDispatcher(baseUrl: string, allowSelfSignedTls: boolean | undefined): Dispatcher | undefined {
  if (!allowSelfSignedTls) return undefined;
  const { protocol, hostname } = new URL(baseUrl);
  return protocol === 'https:' && LOCAL_HOSTS.has(hostname) ? selfSignedDispatcher() : undefined;
}

export class Gateway {
  private readonly baseUrl: string;
  private readonly pacer: Pacer;
  private readonly dispatcher: Dispatcher | undefined;
  /** Called on every 401, so the session bookkeeping (accounts fetched, questions suppressed) starts over. */
  onSessionLost: () => void = () => {};

  constructor(baseUrl: string, pacer: Pacer, dispatcher: Dispatcher | undefined) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.pacer = pacer;
    this.dispatcher = dispatcher;
  }

  async send(call: GatewayCall): Promise<BrokerResponse> {
    await this.pacer.take(call.bucket);
    const query = call.query ? `?${new URLSearchParams(call.query).toString()}` : '';
    const response = await brokerRequest('IBKR', `${this.baseUrl}${call.path}${query}`, {
      method: call.method ?? 'GET',
      ...(call.body === undefined ? {} : { body: call.body }),
      ...(call.signal ? { signal: call.signal } : {}),
      ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
    });
    if (response.status === 401) {
      this.onSessionLost();
      throw new BrokerAuthExpired(SESSION_EXPIRED);
    }
    if (response.status === 429) {
      throw new BrokerUnavailable('IBKR pacing limit exceeded: the gateway blocks requests for 10 minutes', {
        retryAfterMs: retryAfterMs(response.headers['retry-after']) ?? PENALTY_BOX_MS,
      });
    }
    if (response.status >= 500) {
      const reason = errorText(response);
      throw new BrokerUnavailable(
        `IBKR gateway unavailable (HTTP ${response.status}${reason ? `: ${reason}` : ''}) on ${call.path.split('?')[0]}`,
      );
    }
    return response;
  }
}

/** The `error` of an IBKR answer (`{"error": "…"}`, in HTTP 200 or 4xx), or null when it has none. */
export function errorText(response: BrokerResponse): string | null {
  const body = Array.isArray(response.json) && response.json.length === 1 ? response.json[0] : response.json;
  const error = asRecord(body).error;
  if (typeof error === 'string' && error.trim() !== '') return error.trim();
  if (error !== undefined && error !== null && error !== false) return JSON.stringify(error).slice(0, 300);
  if (response.status >= 400) return response.text.trim().slice(0, 300) || `HTTP ${response.status}`;
  return null;
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const seconds = value === undefined ? Number.NaN : Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}
