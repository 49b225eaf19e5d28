/**
 * Fake Tradovate REST API (BROKERS.md §2) on loopback. startFakeTradovate() → {url, port, state, controls, close};
 * `url` ends in /v1 like https://demo.tradovateapi.com/v1. Login failures, business rejections and p-tickets all
 * answer HTTP 200 with the documented bodies.
 */
import { randomBytes } from 'node:crypto';
import { FakeClock } from './common/clock.ts';
import { type CommonControls, commonAdmin, commonControls, type FakeBroker } from './common/controls.ts';
import { parseDecimal } from './common/decimal.ts';
import { Engine } from './common/engine.ts';
import { FaultQueue } from './common/faults.ts';
import { type BrokerHooks, type FakeRequest, objectBody, Router, startServer } from './common/http.ts';
import { forcedPTicketFromJson, registerAuthRoutes } from './tradovate/auth.ts';
import { registerEntityRoutes } from './tradovate/entities.ts';
import { registerOrderRoutes, type TvContext } from './tradovate/orders.ts';
import {
  DEFAULT_TRADOVATE_CONFIG,
  type FakeTradovateOptions,
  type TradovateConfig,
  type TradovateContractOptions,
  type TradovateExt,
  type TradovateState,
  type TvContract,
  type TvUser,
} from './tradovate/types.ts';

export type { FakeTradovateOptions, TradovateConfig, TradovateExt, TradovateState } from './tradovate/types.ts';

export const DEFAULT_TRADOVATE_CONTRACTS: TradovateContractOptions[] = [
  { id: 3570918, name: 'ESZ5', price: '5000', multiplier: '50', margin: '500' },
  { id: 3570919, name: 'MESZ5', price: '5000', multiplier: '5', margin: '50' },
  { id: 3570920, name: 'NQZ5', price: '20000', multiplier: '20', margin: '1000' },
  { id: 3570921, name: 'MNQZ5', price: '20000', multiplier: '2', margin: '100' },
];

export interface TradovateControls extends CommonControls<TradovateExt> {
  /** The next `count` valid orders fail with this body (default UnknownReason / "Access is denied"). */
  rejectNextOrder(options?: { count?: number; failureReason?: string; failureText?: string }): void;
  /**
   * The next `count` calls of an auth endpoint ('accesstokenrequest', 'renewaccesstoken', 'me'; default: whichever
   * comes first) answer 200 {"p-ticket","p-time":time} (or with "p-captcha":true, which holds for an hour).
   */
  pTicketNext(options?: { count?: number; time?: number; captcha?: boolean; endpoint?: string }): void;
  /** Every token issued so far expires now (calls answer 401 until the client logs in again). */
  expireTokens(): void;
  configure(config: Partial<TradovateConfig>): TradovateConfig;
  /** A valid access token for a user (default: the first), without the HTTP login. */
  issueToken(userName?: string): string;
}

export type FakeTradovate = FakeBroker<TradovateState, TradovateControls>;

export async function startFakeTradovate(options: FakeTradovateOptions = {}): Promise<FakeTradovate> {
  const clock = new FakeClock();
  const faults = new FaultQueue();
  let contracts: TvContract[] = [];
  const multiplierOf = (symbol: string) => contracts.find((c) => c.name === symbol)?.multiplier ?? '1';
  const engine = new Engine<TradovateExt>({
    clock,
    accounting: 'futures',
    multiplier: multiplierOf,
    fill: options.fill ?? {},
  });
  const userSpecs = options.users ?? [
    {
      name: 'fakeuser',
      password: 'fake-password',
      cid: 8,
      sec: 'fake-sec',
      accounts: [{ id: 700001, name: 'DEMO700001' }],
    },
  ];
  let counter = 0;
  const state: TradovateState = {
    engine,
    config: { ...DEFAULT_TRADOVATE_CONFIG, ...options.config },
    users: [],
    contracts,
    tokens: [],
    orderVersions: [],
    commands: [],
    pTickets: new Map(),
    forcedPTickets: [],
    limitEvents: new Map(),
    captchaUntilMs: 0,
    rateWindow: { startMs: 0, count: 0 },
    forcedRejects: [],
    defaultPrice: options.defaultPrice ?? null,
    nextId: () => {
      counter += 1;
      return 200_000_000 + counter;
    },
  };

  const initialise = () => {
    engine.reset();
    counter = 0;
    state.config = { ...DEFAULT_TRADOVATE_CONFIG, ...options.config };
    state.users = userSpecs.map(
      (spec, i): TvUser => ({
        id: spec.userId ?? 100_001 + i,
        name: spec.name,
        password: spec.password,
        cid: String(spec.cid),
        sec: spec.sec,
        userStatus: spec.userStatus ?? 'Active',
        accounts: (spec.accounts ?? [{ id: 700_001 + i, name: `DEMO${700_001 + i}` }]).map((a) => ({
          id: a.id,
          name: a.name,
        })),
        deviceId: null,
      }),
    );
    userSpecs.forEach((spec, i) => {
      for (const account of state.users[i]?.accounts ?? []) {
        const cash = spec.accounts?.find((a) => a.id === account.id)?.cash ?? '50000';
        engine.addAccount(String(account.id), parseDecimal(cash) ?? '50000');
      }
    });
    contracts = (options.contracts ?? DEFAULT_TRADOVATE_CONTRACTS).map((c, i) => ({
      id: c.id ?? 3_000_001 + i,
      name: c.name,
      contractMaturityId: 50_000 + i,
      multiplier: c.multiplier ?? '1',
      margin: c.margin ?? '0',
    }));
    state.contracts = contracts;
    for (const c of options.contracts ?? DEFAULT_TRADOVATE_CONTRACTS)
      engine.setPrice(c.name, parseDecimal(c.price) ?? '0');
    for (const list of [state.tokens, state.orderVersions, state.commands, state.forcedPTickets, state.forcedRejects]) {
      list.length = 0;
    }
    state.pTickets.clear();
    state.limitEvents.clear();
    state.captchaUntilMs = 0;
    state.rateWindow = { startMs: 0, count: 0 };
  };
  initialise();

  const ctx: TvContext = {
    state,
    clock,
    contractByName(name) {
      const known = contracts.find((c) => c.name === name);
      if (known || state.defaultPrice === null || !/^[A-Z0-9]{2,12}$/.test(name)) return known ?? null;
      const contract: TvContract = {
        id: 3_100_000 + contracts.length,
        name,
        contractMaturityId: 59_000 + contracts.length,
        multiplier: '1',
        margin: '0',
      };
      contracts.push(contract);
      engine.setPrice(name, state.defaultPrice);
      return contract;
    },
  };
  const router = new Router();
  registerAuthRoutes(router, ctx);
  registerOrderRoutes(router, ctx);
  registerEntityRoutes(router, ctx);
  const hooks: BrokerHooks = {
    errorResponse: (status) => ({ status }),
    rateLimited: () => ({ status: 429 }),
    notFound: () => ({ status: 404 }),
    before() {
      const limit = state.config.rateLimit;
      if (!limit) return null;
      const now = clock.nowMs();
      if (now - state.rateWindow.startMs >= limit.windowMs) state.rateWindow = { startMs: now, count: 0 };
      state.rateWindow.count += 1;
      return state.rateWindow.count > limit.max ? { status: 429 } : null;
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
      config: state.config,
      users: state.users,
      contracts,
      prices: Object.fromEntries(engine.prices),
      fill: engine.fill,
      tokens: state.tokens,
      orders: engine.orders,
      orderVersions: state.orderVersions,
      commands: state.commands,
      fills: engine.fills,
      accounts: [...engine.accounts.values()].map((a) => ({ ...a, positions: [...a.positions.values()] })),
    }),
  });
  const controls: TradovateControls = {
    ...common,
    rejectNextOrder({ count = 1, failureReason = 'UnknownReason', failureText = 'Access is denied' } = {}) {
      for (let i = 0; i < count; i += 1) state.forcedRejects.push({ failureReason, failureText });
    },
    pTicketNext({ count = 1, time = 15, captcha = false, endpoint } = {}) {
      for (let i = 0; i < count; i += 1)
        state.forcedPTickets.push({ endpoint: endpoint ?? null, seconds: time, captcha });
    },
    expireTokens() {
      const now = clock.nowMs();
      for (const token of state.tokens) token.expiresAtMs = Math.min(token.expiresAtMs, now);
      engine.notify();
    },
    configure(config) {
      state.config = { ...state.config, ...config };
      return state.config;
    },
    issueToken(userName) {
      const user = userName ? state.users.find((u) => u.name === userName) : state.users[0];
      if (!user) throw new Error(`no user ${userName ?? ''}`);
      const accessToken = randomBytes(24).toString('base64url');
      state.tokens.push({
        accessToken,
        mdAccessToken: randomBytes(24).toString('base64url'),
        userId: user.id,
        expiresAtMs: clock.nowMs() + state.config.tokenLifetimeMs,
        deviceId: user.deviceId,
        revoked: false,
      });
      return accessToken;
    },
  };
  const admin = {
    ...commonAdmin(controls),
    'reject-next': (req: FakeRequest) => {
      const body = objectBody(req);
      controls.rejectNextOrder({
        ...(typeof body.count === 'number' ? { count: body.count } : {}),
        ...(typeof body.failureReason === 'string' ? { failureReason: body.failureReason } : {}),
        ...(typeof body.failureText === 'string' ? { failureText: body.failureText } : {}),
      });
    },
    'p-ticket': (req: FakeRequest) => {
      const { count, seconds, captcha, endpoint } = forcedPTicketFromJson(req);
      controls.pTicketNext({ count, time: seconds, captcha, ...(endpoint ? { endpoint } : {}) });
    },
    'expire-tokens': () => controls.expireTokens(),
    config: (req: FakeRequest) =>
      req.method === 'GET' ? state.config : controls.configure(objectBody(req) as Partial<TradovateConfig>),
  };

  const server = await startServer({
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.tls !== undefined ? { tls: options.tls } : {}),
    basePath: '/v1',
    router,
    admin,
    faults,
    hooks,
  });
  return {
    url: `${server.origin}/v1`,
    port: server.port,
    state,
    controls,
    async close() {
      engine.close();
      await server.close();
    },
  };
}
