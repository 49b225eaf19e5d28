/**
 * The one HTTP client of channel deliveries (undici). Targets that traders choose (Discord, Slack and generic
 * webhook URLs) go through a dispatcher whose DNS lookup refuses non-public addresses at connect time, so a name
 * that was public when the channel was saved and later points inside the network (DNS rebinding) is still refused;
 * literal IP hosts never reach a lookup and are checked here. Redirects are not followed. Answers are turned into
 * the delivery errors of ./errors.ts; bodies are read only for a short reason and never logged.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, type Dispatcher, request } from 'undici';
import { env } from '../../lib/env.ts';
import { classifyAddress } from '../../lib/public-address.ts';
import { DeliveryFailed, DeliveryRateLimited, DeliveryRefused } from './errors.ts';

export interface DeliveryResponse {
  status: number;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  json: unknown;
  text: string;
}

// Only a short reason is ever read from an answer.
const MAX_BODY_BYTES = 64 * 1024;
// Backstops; the caller's AbortSignal (the breaker's per-call timeout) normally ends a slow call first.
const CONNECT_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 30_000;
const BODY_TIMEOUT_MS = 30_000;

const NON_PUBLIC = 'ERR_NON_PUBLIC_ADDRESS';

/** Resolves like dns.lookup but fails when any address is not public (unless ALLOW_PRIVATE_NOTIFY_TARGETS). */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true } as LookupOptions & { all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const refused = env.ALLOW_PRIVATE_NOTIFY_TARGETS
      ? undefined
      : addresses.find((entry) => classifyAddress(entry.address) !== 'public');
    if (refused || addresses.length === 0) {
      const failure: NodeJS.ErrnoException = new Error(`${hostname} resolves to a non-public address`);
      failure.code = NON_PUBLIC;
      return callback(failure, []);
    }
    if (options.all) return callback(null, addresses);
    const [first] = addresses as [LookupAddress];
    return callback(null, first.address, first.family);
  });
};

const agentOptions = {
  headersTimeout: HEADERS_TIMEOUT_MS,
  bodyTimeout: BODY_TIMEOUT_MS,
};

/** For URLs traders give us. */
const guardedDispatcher = new Agent({
  ...agentOptions,
  connect: { timeout: CONNECT_TIMEOUT_MS, lookup: publicOnlyLookup },
});
/** For the Telegram API, whose base URL is configuration (TELEGRAM_API_URL), not user input. */
const configuredDispatcher = new Agent({ ...agentOptions, connect: { timeout: CONNECT_TIMEOUT_MS } });

/** https only, and a literal IP host must be public, unless ALLOW_PRIVATE_NOTIFY_TARGETS. */
function assertSendable(label: string, url: URL): void {
  const allowPrivate = env.ALLOW_PRIVATE_NOTIFY_TARGETS;
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) {
    throw new DeliveryRefused(`${label}: the target URL must use https`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!allowPrivate && isIP(host) && classifyAddress(host) !== 'public') {
    throw new DeliveryRefused(`${label}: the target is not a public internet address`);
  }
}

export interface PostOptions {
  /** e.g. `Discord`: starts every error message. */
  label: string;
  headers?: Record<string, string>;
  signal: AbortSignal;
  /** `user` for trader-chosen URLs (guarded), `configured` for a base URL from the environment. */
  target: 'user' | 'configured';
}

/** POSTs a JSON body (already serialized, so a signature covers exactly these bytes). Throws on transport errors. */
export async function postJson(url: string, body: string, options: PostOptions): Promise<DeliveryResponse> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DeliveryRefused(`${options.label}: the target URL is not valid`);
  }
  if (options.target === 'user') assertSendable(options.label, parsed);
  let response: Dispatcher.ResponseData;
  try {
    response = await request(parsed, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Fillpath-Notify/1', ...options.headers },
      body,
      signal: options.signal,
      dispatcher: options.target === 'user' ? guardedDispatcher : configuredDispatcher,
    });
  } catch (error) {
    throw transportError(options.label, error, options.signal);
  }
  let text: string;
  try {
    text = await readLimited(response.body, MAX_BODY_BYTES);
  } catch (error) {
    throw transportError(options.label, error, options.signal);
  }
  return { status: response.statusCode, json: parseJson(text), text };
}

/**
 * Throws the delivery error an answer means: 2xx passes, 429 slows down, 408/425/5xx may pass later, any other
 * status is a refusal. `reason` is the service's own short explanation, when it gives one.
 */
export function assertDelivered(label: string, response: DeliveryResponse, reason?: string | null): void {
  const { status } = response;
  if (status >= 200 && status < 300) return;
  const why = reason ? `: ${shortReason(reason)}` : '';
  if (status === 429) throw new DeliveryRateLimited(`${label} is rate limiting deliveries (HTTP 429)${why}`);
  if (status === 408 || status === 425 || status >= 500)
    throw new DeliveryFailed(`${label} answered HTTP ${status}${why}`);
  throw new DeliveryRefused(`${label} refused the delivery (HTTP ${status})${why}`);
}

/** A reason from a third party, safe to store and show: one line, no control characters, at most 200 characters. */
export function shortReason(text: string): string {
  const line = text.replace(/\p{Cc}+/gu, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

export function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function transportError(label: string, error: unknown, signal: AbortSignal): Error {
  if (signal.aborted) return new DeliveryFailed(`${label}: timed out`);
  const code = (error as { code?: unknown }).code;
  const causeCode = (error as { cause?: { code?: unknown } }).cause?.code;
  if (code === NON_PUBLIC || causeCode === NON_PUBLIC) {
    return new DeliveryRefused(`${label}: the target host resolves to a non-public address`);
  }
  // A code (ECONNREFUSED, UND_ERR_SOCKET…) only: undici's messages may carry the URL, whose path is a secret.
  const shown = typeof code === 'string' ? code : typeof causeCode === 'string' ? causeCode : 'request failed';
  return new DeliveryFailed(`${label}: network error ${shown}`);
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    // Enough for a reason; the rest is dropped rather than buffered.
    if (size > limit) {
      body.destroy();
      break;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
