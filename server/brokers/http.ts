/**
 * The one HTTP client of the broker adapters (undici). It turns transport failures into BrokerUnavailable, honours
 * the caller's AbortSignal (so a breaker timeout really cancels the request), parses JSON defensively (brokers answer
 * errors as text, HTML or empty bodies) and never logs bodies, which may hold credentials.
 */
import { Big } from 'big.js';
import { Agent, type Dispatcher, request } from 'undici';
import { BrokerUnavailable } from './errors.ts';

export interface BrokerResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  json: unknown;
  text: string;
}

export interface BrokerRequest {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  /** Serialized as JSON. */
  body?: unknown;
  signal?: AbortSignal;
  dispatcher?: Dispatcher;
}

const MAX_BODY_BYTES = 5 * 1024 * 1024;

/** A dispatcher that accepts a self-signed certificate, for the IBKR gateway host only (never a public broker). */
export function selfSignedDispatcher(): Dispatcher {
  return new Agent({ connect: { rejectUnauthorized: false } });
}

export async function brokerRequest(broker: string, url: string, init: BrokerRequest = {}): Promise<BrokerResponse> {
  const path = new URL(url).pathname;
  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, {
      method: init.method ?? 'GET',
      headers: {
        accept: 'application/json',
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
      dispatcher: init.dispatcher,
    });
  } catch (error) {
    throw new BrokerUnavailable(`${broker} ${path}: ${describeTransportError(error, init.signal)}`, { cause: error });
  }
  let text: string;
  try {
    text = await readLimited(response.body, MAX_BODY_BYTES);
  } catch (error) {
    throw new BrokerUnavailable(`${broker} ${path}: ${describeTransportError(error, init.signal)}`, { cause: error });
  }
  return { status: response.statusCode, headers: response.headers, json: parseJson(text), text };
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
    if (size > limit) {
      body.destroy();
      throw new Error(`response larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeTransportError(error: unknown, signal: AbortSignal | undefined): string {
  if (signal?.aborted) return 'timed out';
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return `network error ${code}`;
  return error instanceof Error ? (error.message.split('\n')[0] ?? 'request failed') : 'request failed';
}

/** A plain object view of a JSON body, for reading broker fields without trusting their shape. */
export function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * A broker's decimal as an exact plain string ("1.50000" → "1.5", 1e-7 → "0.0000001"): strings are parsed as
 * written, numbers through their shortest text form, never through float arithmetic.
 */
export function decimalOf(value: unknown, fallback: string | null = null): string | null {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== 'string' || text.trim() === '') return fallback;
  try {
    return new Big(text.trim()).toFixed();
  } catch {
    return fallback;
  }
}
