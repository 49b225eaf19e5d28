/**
 * The HTTP shell shared by the three fakes: a loopback node:http server (HTTPS when given a key and certificate),
 * a small router, injected faults, and the `/__fake/...` admin endpoints that let another process flip switches.
 * node:http rather than Fastify: the fakes need to answer with empty bodies, hold responses forever, destroy a
 * socket after the work is done, and route paths such as `/v2/orders:by_client_order_id` verbatim.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { FaultQueue, FaultSpec } from './faults.ts';
import { INVALID, parseBody } from './json.ts';

export interface FakeRequest {
  method: string;
  /** Path relative to the base path, without the query string. */
  path: string;
  /** The matched route pattern, e.g. "/v2/orders/:id"; null when no route matched. */
  pattern: string | null;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** Parsed JSON; undefined for an empty body or when `bodyInvalid`. */
  body: unknown;
  bodyInvalid: boolean;
}

export interface FakeResponse {
  status: number;
  json?: unknown;
  /** A plain-text body; "" or absent (with no json) sends an empty body. */
  text?: string;
  headers?: Record<string, string>;
}

export type Handler = (req: FakeRequest) => FakeResponse | Promise<FakeResponse>;
export type AdminHandler = (req: FakeRequest) => unknown;
export type AdminTable = Record<string, AdminHandler>;

export function json(status: number, body: unknown, headers?: Record<string, string>): FakeResponse {
  return headers ? { status, json: body, headers } : { status, json: body };
}

export function empty(status: number): FakeResponse {
  return { status };
}

interface Route {
  methods: string[];
  segments: string[];
  pattern: string;
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  add(methods: string | string[], pattern: string, handler: Handler): this {
    const list = (Array.isArray(methods) ? methods : [methods]).map((m) => m.toUpperCase());
    this.routes.push({ methods: list, segments: pattern.split('/'), pattern, handler });
    return this;
  }

  /** Literal segments win over `:param` segments, so `/order/list` never reaches `/order/:id`. */
  match(method: string, path: string): { route: Route; params: Record<string, string> } | 'method' | null {
    const segments = path.split('/');
    let best: { route: Route; params: Record<string, string>; literals: number } | null = null;
    let methodMismatch = false;
    for (const route of this.routes) {
      const found = matchSegments(route.segments, segments);
      if (!found) continue;
      if (!route.methods.includes(method)) {
        methodMismatch = true;
        continue;
      }
      if (!best || found.literals > best.literals) best = { route, ...found };
    }
    if (best) return { route: best.route, params: best.params };
    return methodMismatch ? 'method' : null;
  }
}

function matchSegments(
  pattern: string[],
  actual: string[],
): { params: Record<string, string>; literals: number } | null {
  if (pattern.length !== actual.length) return null;
  const params: Record<string, string> = {};
  let literals = 0;
  for (let i = 0; i < pattern.length; i += 1) {
    const p = pattern[i] ?? '';
    const a = actual[i] ?? '';
    if (p.startsWith(':')) {
      if (a === '') return null;
      try {
        params[p.slice(1)] = decodeURIComponent(a);
      } catch {
        return null;
      }
    } else if (p === a) {
      literals += 1;
    } else {
      return null;
    }
  }
  return { params, literals };
}

export interface BrokerHooks {
  /** The broker's answer to an injected error status (fault kind 'status' without a body). */
  errorResponse(status: number): FakeResponse;
  /** The broker's 429 (fault kind 'rateLimit'). */
  rateLimited(): FakeResponse;
  notFound(req: FakeRequest): FakeResponse;
  /** The broker's own gate (rate limits, pacing, penalty box), run after injected faults. Null lets it through. */
  before?(req: FakeRequest): FakeResponse | null;
  /** Last touch on every broker response (e.g. rate-limit headers). */
  decorate?(req: FakeRequest, res: FakeResponse): FakeResponse;
}

export interface ServerOptions {
  port?: number;
  host?: string;
  basePath: string;
  router: Router;
  admin: AdminTable;
  faults: FaultQueue;
  hooks: BrokerHooks;
  tls?: { key: string | Buffer; cert: string | Buffer };
}

export interface RunningServer {
  /** scheme://host:port, without the base path. */
  origin: string;
  port: number;
  close(): Promise<void>;
}

const BODY_LIMIT = 1_000_000;

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(options, req, res).catch((error: unknown) => {
      console.error('[fake broker] handler failed:', error);
      send(res, { status: 500, text: `fake broker error: ${error instanceof Error ? error.message : String(error)}` });
    });
  };
  const server = options.tls ? createHttpsServer(options.tls, listener) : createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `${options.tls ? 'https' : 'http'}://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Held ("hang") responses and idle keep-alive sockets would otherwise keep close() waiting forever.
        server.closeAllConnections();
      }),
  };
}

async function handle(options: ServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const raw = await readBody(req);
  if (raw === null) return send(res, { status: 413, text: 'request body too large' });
  const url = new URL(req.url ?? '/', 'http://fake.local');
  const method = (req.method ?? 'GET').toUpperCase();
  const parsed = parseBody(raw);
  const request: FakeRequest = {
    method,
    path: url.pathname,
    pattern: null,
    params: {},
    query: url.searchParams,
    headers: req.headers,
    rawBody: raw,
    body: parsed === INVALID ? undefined : parsed,
    bodyInvalid: parsed === INVALID,
  };

  if (url.pathname.startsWith('/__fake/')) return send(res, await runAdmin(options.admin, request));

  const { basePath, hooks } = options;
  const underBase = basePath === '' || url.pathname === basePath || url.pathname.startsWith(`${basePath}/`);
  request.path = underBase ? url.pathname.slice(basePath.length) || '/' : url.pathname;
  const matched = underBase ? options.router.match(method, request.path) : null;
  if (matched && matched !== 'method') {
    request.pattern = matched.route.pattern;
    request.params = matched.params;
  }

  const fault = options.faults.take(method, request.path, request.pattern);
  if (fault?.kind === 'status') return send(res, faultResponse(fault, hooks));
  if (fault?.kind === 'rateLimit') return send(res, hooks.rateLimited());
  const processFirst = fault?.process ?? true;
  if (fault && !processFirst) {
    if (fault.kind === 'drop') return void res.socket?.destroy();
    if (fault.kind === 'hang') return; // never answered; close() destroys the socket
    await sleep(fault.ms ?? 0);
  }

  let response: FakeResponse;
  const gate = hooks.before?.(request) ?? null;
  if (gate) response = gate;
  else if (matched === null) response = hooks.notFound(request);
  else if (matched === 'method') response = { status: 405, text: 'Method Not Allowed' };
  else response = await matched.route.handler(request);
  if (hooks.decorate) response = hooks.decorate(request, response);

  if (fault && processFirst) {
    if (fault.kind === 'drop') return void res.socket?.destroy();
    if (fault.kind === 'hang') return;
    await sleep(fault.ms ?? 0);
  }
  send(res, response);
}

function faultResponse(fault: FaultSpec, hooks: BrokerHooks): FakeResponse {
  const status = fault.status ?? 500;
  if (fault.body !== undefined) return { status, json: fault.body };
  if (fault.text !== undefined) return { status, text: fault.text };
  return hooks.errorResponse(status);
}

async function runAdmin(table: AdminTable, req: FakeRequest): Promise<FakeResponse> {
  const name = req.path.slice('/__fake/'.length);
  const handler = table[name];
  if (!handler) return json(404, { error: `no admin endpoint /__fake/${name}`, endpoints: Object.keys(table) });
  if (req.bodyInvalid) return json(400, { error: 'body is not JSON' });
  try {
    const result = await handler(req);
    return json(200, result ?? { ok: true });
  } catch (error) {
    return json(400, { error: error instanceof Error ? error.message : String(error) });
  }
}

export function objectBody(req: FakeRequest): Record<string, unknown> {
  if (req.body === undefined) return {};
  if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
    throw new Error('body must be a JSON object');
  }
  return req.body as Record<string, unknown>;
}

export function countOf(req: FakeRequest): number {
  const count = objectBody(req).count;
  return typeof count === 'number' ? count : 1;
}

function send(res: ServerResponse, response: FakeResponse): void {
  if (res.destroyed || res.writableEnded || res.headersSent) return;
  const headers: Record<string, string> = { ...response.headers };
  let payload = '';
  if (response.json !== undefined) {
    payload = JSON.stringify(response.json);
    headers['content-type'] ??= 'application/json; charset=utf-8';
  } else if (response.text) {
    payload = response.text;
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  }
  res.writeHead(response.status, headers);
  res.end(response.status === 204 ? undefined : payload);
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= BODY_LIMIT) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > BODY_LIMIT ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
