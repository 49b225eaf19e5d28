/**
 * Fake Alpaca Trading API v2 (BROKERS.md §1) on loopback. startFakeAlpaca() → {url, port, state, controls, close}.
 * Adapters use `url` as the paper/live base URL and send APCA-API-KEY-ID / APCA-API-SECRET-KEY.
 */
import { randomUUID } from 'node:crypto';
import { registerOrderRoutes } from './alpaca/orders.ts';
import { registerPositionRoutes } from './alpaca/positions.ts';
import { alpacaError } from './alpaca/render.ts';
import {
  type AlpacaAccount,
  type AlpacaConfig,
  type AlpacaExt,
  type AlpacaState,
  DEFAULT_ALPACA_CONFIG,
  type FakeAlpacaOptions,
} from './alpaca/types.ts';
import { FakeClock } from './common/clock.ts';
import { type CommonControls, commonAdmin, commonControls, type FakeBroker } from './common/controls.ts';
import { parseDecimal } from './common/decimal.ts';
import { Engine } from './common/engine.ts';
import { FaultQueue } from './common/faults.ts';
import {
  type BrokerHooks,
  countOf,
  type FakeRequest,
  type FakeResponse,
  objectBody,
  Router,
  startServer,
} from './common/http.ts';

export type { AlpacaConfig, AlpacaExt, AlpacaState, FakeAlpacaOptions } from './alpaca/types.ts';

export const DEFAULT_ALPACA_PRICES: Record<string, string> = {
  AAPL: '150',
  MSFT: '400',
  SPY: '500',
  TSLA: '250',
  'BTC/USD': '60000',
  'ETH/USD': '3000',
};

export interface AlpacaControls extends CommonControls<AlpacaExt> {
  /** The next `count` valid orders answer this instead (default 403 {"code":40310000,"message":"insufficient buying power"}). */
  rejectNextOrder(options?: { count?: number; status?: number; body?: unknown }): void;
  configure(config: Partial<AlpacaConfig>): AlpacaConfig;
  /** Sets an account's cash (default: the first account). */
  setCash(cash: string, keyId?: string): void;
}

export type FakeAlpaca = FakeBroker<AlpacaState, AlpacaControls>;

export async function startFakeAlpaca(options: FakeAlpacaOptions = {}): Promise<FakeAlpaca> {
  const clock = new FakeClock();
  const faults = new FaultQueue();
  const engine = new Engine<AlpacaExt>({ clock, accounting: 'cash', multiplier: () => '1', fill: options.fill ?? {} });
  const accountSpecs = options.accounts ?? [{ keyId: 'PKFAKEKEY0000000001', secret: 'fake-secret' }];
  const accounts: AlpacaAccount[] = accountSpecs.map((spec, i) => ({
    id: randomUUID(),
    accountNumber: spec.accountNumber ?? `PA${String(3000000000 + i)}`,
    keyId: spec.keyId,
    secret: spec.secret,
    bearerTokens: spec.bearerTokens ?? [],
    createdAt: clock.stamp(),
  }));
  const state: AlpacaState = {
    engine,
    accounts,
    config: { ...DEFAULT_ALPACA_CONFIG, ...options.config },
    assetIds: new Map(),
    lastdayPrices: new Map(),
    defaultPrice: options.defaultPrice === undefined ? null : options.defaultPrice,
    forcedRejects: [],
    rateWindows: new Map(),
  };

  const setPrice = (symbol: string, price: string) => {
    if (!state.lastdayPrices.has(symbol)) state.lastdayPrices.set(symbol, price);
    engine.setPrice(symbol, price);
  };
  const initialise = () => {
    engine.reset();
    accounts.forEach((account, i) => {
      engine.addAccount(account.id, parseDecimal(accountSpecs[i]?.cash ?? '100000') ?? '100000');
    });
    state.config = { ...DEFAULT_ALPACA_CONFIG, ...options.config };
    state.lastdayPrices.clear();
    state.forcedRejects.length = 0;
    state.rateWindows.clear();
    for (const [symbol, price] of Object.entries(options.prices ?? DEFAULT_ALPACA_PRICES)) {
      setPrice(symbol, parseDecimal(price) ?? '0');
    }
  };
  initialise();

  const accountByRequest = new WeakMap<FakeRequest, AlpacaAccount>();
  const rateHeaders = new WeakMap<FakeRequest, Record<string, string>>();
  const ctx = {
    state,
    accountOf(req: FakeRequest): AlpacaAccount {
      const account = accountByRequest.get(req);
      if (!account) throw new Error('request reached a handler without authentication');
      return account;
    },
    markFor(symbol: string): string | null {
      const mark = engine.mark(symbol);
      if (mark !== null || state.defaultPrice === null) return mark;
      setPrice(symbol, state.defaultPrice);
      return state.defaultPrice;
    },
  };
  const router = new Router();
  registerOrderRoutes(router, ctx);
  registerPositionRoutes(router, ctx);

  const hooks: BrokerHooks = {
    errorResponse: (status) =>
      alpacaError(status, status * 100000 + 10000, status >= 500 ? 'internal server error' : 'error'),
    rateLimited: () => ({
      ...alpacaError(429, state.config.rateLimitCode, 'rate limit exceeded'),
      headers: limitHeaders(state.config.rateLimitPerMinute ?? 200, 0, Math.ceil(clock.nowMs() / 1000) + 60),
    }),
    notFound: () => alpacaError(404, state.config.notFoundCode, 'endpoint not found'),
    before(req) {
      const auth = authenticate(state, req);
      if ('status' in auth) return auth;
      accountByRequest.set(req, auth);
      const limit = state.config.rateLimitPerMinute;
      if (limit === null) return null;
      const now = clock.nowMs();
      let window = state.rateWindows.get(auth.keyId);
      if (!window || now - window.startMs >= 60_000) {
        window = { startMs: now, count: 0 };
        state.rateWindows.set(auth.keyId, window);
      }
      window.count += 1;
      const headers = limitHeaders(
        limit,
        Math.max(0, limit - window.count),
        Math.ceil((window.startMs + 60_000) / 1000),
      );
      if (window.count > limit)
        return { ...alpacaError(429, state.config.rateLimitCode, 'rate limit exceeded'), headers };
      rateHeaders.set(req, headers);
      return null;
    },
    decorate(req, res) {
      const headers = rateHeaders.get(req);
      return headers ? { ...res, headers: { ...res.headers, ...headers } } : res;
    },
  };

  const common = commonControls({
    engine,
    faults,
    clock,
    reset() {
      faults.clear();
      clock.reset();
      initialise();
    },
    snapshot: () => ({
      accounts: accounts.map((a) => ({ ...a, book: bookSnapshot(state, a.id) })),
      config: state.config,
      prices: Object.fromEntries(engine.prices),
      fill: engine.fill,
      orders: engine.orders,
      fills: engine.fills,
    }),
  });
  const controls: AlpacaControls = {
    ...common,
    setPrice(symbol, price) {
      const value = parseDecimal(price);
      if (value === null) throw new Error(`invalid price ${String(price)}`);
      setPrice(symbol, value);
    },
    rejectNextOrder({ count = 1, status = 403, body = { code: 40310000, message: 'insufficient buying power' } } = {}) {
      for (let i = 0; i < count; i += 1) state.forcedRejects.push({ status, body });
    },
    configure(config) {
      state.config = { ...state.config, ...config };
      return state.config;
    },
    setCash(cash, keyId) {
      const account = keyId ? accounts.find((a) => a.keyId === keyId) : accounts[0];
      const value = parseDecimal(cash);
      if (!account || value === null) throw new Error('unknown account or invalid cash');
      engine.account(account.id).cash = value;
      engine.notify();
    },
  };
  const admin = {
    ...commonAdmin(controls),
    'reject-next': (req: FakeRequest) => {
      const body = objectBody(req);
      controls.rejectNextOrder({
        count: countOf(req),
        ...(typeof body.status === 'number' ? { status: body.status } : {}),
        ...(body.body !== undefined ? { body: body.body } : {}),
      });
    },
    config: (req: FakeRequest) =>
      req.method === 'GET' ? state.config : controls.configure(objectBody(req) as Partial<AlpacaConfig>),
    cash: (req: FakeRequest) => {
      const { cash, keyId } = objectBody(req);
      controls.setCash(String(cash), typeof keyId === 'string' ? keyId : undefined);
    },
  };

  const server = await startServer({ ...listenOptions(options), basePath: '', router, admin, faults, hooks });
  return {
    url: server.origin,
    port: server.port,
    state,
    controls,
    async close() {
      engine.close();
      await server.close();
    },
  };
}

function listenOptions(options: FakeAlpacaOptions) {
  return {
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.tls !== undefined ? { tls: options.tls } : {}),
  };
}

function limitHeaders(limit: number, remaining: number, resetEpochSeconds: number): Record<string, string> {
  return {
    'X-Ratelimit-Limit': String(limit),
    'X-Ratelimit-Remaining': String(remaining),
    'X-Ratelimit-Reset': String(resetEpochSeconds),
  };
}

const UNAUTHORIZED = { code: 40110000, message: 'request is not authorized' };

function authenticate(state: AlpacaState, req: FakeRequest): AlpacaAccount | FakeResponse {
  const authorization = header(req, 'authorization');
  if (authorization?.startsWith('Bearer ')) {
    const token = authorization.slice('Bearer '.length).trim();
    const account = state.accounts.find((a) => a.bearerTokens.includes(token));
    return account ?? { status: 401, json: UNAUTHORIZED };
  }
  const keyId = header(req, 'apca-api-key-id');
  const secret = header(req, 'apca-api-secret-key');
  const account = keyId ? state.accounts.find((a) => a.keyId === keyId) : undefined;
  if (!account || !secret) return { status: 401, json: UNAUTHORIZED };
  if (account.secret === secret) return account;
  return state.config.badSecretStatus === 403
    ? { status: 403, json: { message: 'forbidden.' } }
    : { status: 401, json: UNAUTHORIZED };
}

function header(req: FakeRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function bookSnapshot(state: AlpacaState, accountId: string) {
  const book = state.engine.account(accountId);
  return { cash: book.cash, realized: book.realized, positions: [...book.positions.values()] };
}
