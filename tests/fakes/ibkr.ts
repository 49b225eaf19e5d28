/**
 * Fake IBKR Client Portal gateway (BROKERS.md §3) on loopback. startFakeIbkr() → {url, port, state, controls, close};
 * `url` ends in /v1/api like https://localhost:5000/v1/api. The session starts logged out: controls.login() stands in
 * for the browser login (there is no API login).
 */
import { FakeClock } from './common/clock.ts';
import { type CommonControls, commonAdmin, commonControls, type FakeBroker } from './common/controls.ts';
import { parseDecimal } from './common/decimal.ts';
import { Engine } from './common/engine.ts';
import { FaultQueue } from './common/faults.ts';
import { type BrokerHooks, type FakeRequest, json, objectBody, Router, startServer } from './common/http.ts';
import { registerOrderRoutes } from './ibkr/orders.ts';
import { registerPortfolioRoutes } from './ibkr/portfolio.ts';
import { expireSession, gate, type IbkrContext, login, registerSessionRoutes } from './ibkr/session.ts';
import {
  DEFAULT_IBKR_CONFIG,
  type FakeIbkrOptions,
  type IbkrConfig,
  type IbkrContract,
  type IbkrExt,
  type IbkrQuestion,
  type IbkrState,
} from './ibkr/types.ts';

export type { FakeIbkrOptions, IbkrConfig, IbkrExt, IbkrQuestion, IbkrState } from './ibkr/types.ts';

export const DEFAULT_IBKR_CONTRACTS: Array<IbkrContract & { price: string }> = [
  {
    conid: 265598,
    symbol: 'AAPL',
    secType: 'STK',
    exchange: 'NASDAQ',
    listingExchange: 'NASDAQ',
    companyName: 'APPLE INC',
    multiplier: '1',
    price: '150',
  },
  {
    conid: 272093,
    symbol: 'MSFT',
    secType: 'STK',
    exchange: 'NASDAQ',
    listingExchange: 'NASDAQ',
    companyName: 'MICROSOFT CORP',
    multiplier: '1',
    price: '400',
  },
  {
    conid: 756733,
    symbol: 'SPY',
    secType: 'STK',
    exchange: 'ARCA',
    listingExchange: 'ARCA',
    companyName: 'SPDR S&P 500 ETF TRUST',
    multiplier: '1',
    price: '500',
  },
  {
    conid: 76792991,
    symbol: 'TSLA',
    secType: 'STK',
    exchange: 'NASDAQ',
    listingExchange: 'NASDAQ',
    companyName: 'TESLA INC',
    multiplier: '1',
    price: '250',
  },
  {
    conid: 495512563,
    symbol: 'ES',
    secType: 'FUT',
    exchange: 'CME',
    listingExchange: 'CME',
    companyName: 'E-mini S&P 500',
    multiplier: '50',
    expiry: '20251219',
    localSymbol: 'ESZ5',
    underlyingConid: 11004968,
    price: '5000',
  },
];

/** Question ids and texts seen in ibind fixtures and the docs; handy for setQuestions(). */
export const SAMPLE_QUESTIONS: IbkrQuestion[] = [
  {
    message: [
      'You are submitting an order without market data. We strongly recommend against this as it may result in erroneous and unexpected trades.\nAre you sure you want to submit this order?',
    ],
    messageIds: ['o354'],
  },
  {
    message: [
      'The following order "BUY 10 AAPL NASDAQ.NMS @ 250.00" price exceeds \nthe Percentage constraint of 3%.\nAre you sure you want to submit this order?',
    ],
    messageIds: ['o163'],
  },
];

export interface IbkrControls extends CommonControls<IbkrExt> {
  /** The browser login: SSO and brokerage session up (a new session: /iserver/accounts is needed again). */
  login(): void;
  /** The session ends (idle, logout elsewhere): auth status not authenticated, every other call 401. */
  expireSession(): void;
  /** The brokerage session drops but SSO stays (ssodh/init or reauthenticate restores it); competing: another login. */
  dropBrokerageSession(options?: { competing?: boolean }): void;
  /** Questions every new order must confirm via /iserver/reply/{id}, in order ([] turns them off). */
  setQuestions(questions: IbkrQuestion[]): void;
  /** The next `count` valid orders answer {"error": error} with `status` (default: config.orderErrorStatus). */
  rejectNextOrder(options?: { count?: number; error?: string; status?: number }): void;
  configure(config: Partial<IbkrConfig>): IbkrConfig;
}

export type FakeIbkr = FakeBroker<IbkrState, IbkrControls>;

export async function startFakeIbkr(options: FakeIbkrOptions = {}): Promise<FakeIbkr> {
  const clock = new FakeClock();
  const faults = new FaultQueue();
  const contractSpecs = options.contracts ?? DEFAULT_IBKR_CONTRACTS;
  const state: IbkrState = {
    engine: new Engine<IbkrExt>({
      clock,
      accounting: 'cash',
      multiplier: (symbol) => state.contracts.find((c) => c.symbol === symbol)?.multiplier ?? '1',
      fill: options.fill ?? {},
    }),
    config: { ...DEFAULT_IBKR_CONFIG, ...options.config },
    accounts: (options.accounts ?? [{ id: 'DU1234567' }]).map((a) => a.id),
    contracts: [],
    session: blankSession(),
    pendingReplies: new Map(),
    discarded: [],
    positionCache: new Map(),
    lastCall: new Map(),
    penaltyUntilMs: 0,
    secondWindow: { startMs: 0, count: 0 },
    forcedRejects: [],
    defaultPrice: options.defaultPrice ?? null,
    nextOrderId: () => 1_800_000_001 + state.engine.orders.length,
  };
  const { engine } = state;

  const initialise = () => {
    engine.reset();
    state.config = { ...DEFAULT_IBKR_CONFIG, ...options.config };
    for (const account of options.accounts ?? [{ id: 'DU1234567' }]) {
      engine.addAccount(account.id, parseDecimal(account.cash ?? '100000') ?? '100000');
    }
    state.contracts = contractSpecs.map(({ price: _price, ...contract }) => contract);
    for (const c of contractSpecs) engine.setPrice(c.symbol, parseDecimal(c.price) ?? '0');
    state.session = blankSession();
    if (options.authenticated) login(state, clock);
    state.pendingReplies.clear();
    state.discarded.length = 0;
    state.positionCache.clear();
    state.lastCall.clear();
    state.penaltyUntilMs = 0;
    state.secondWindow = { startMs: 0, count: 0 };
    state.forcedRejects.length = 0;
  };
  initialise();

  const ctx: IbkrContext = { state, clock };
  const router = new Router();
  registerSessionRoutes(router, ctx);
  registerOrderRoutes(router, ctx);
  registerPortfolioRoutes(router, ctx);
  const hooks: BrokerHooks = {
    errorResponse: (status) =>
      status >= 500 ? { status, text: '' } : json(status, { error: 'error', statusCode: status }),
    rateLimited: () => ({ status: 429 }),
    notFound: () => ({ status: 404, text: '' }),
    before: (req) => gate(ctx, req),
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
      accounts: state.accounts,
      session: { ...state.session, suppressed: [...state.session.suppressed] },
      contracts: state.contracts,
      prices: Object.fromEntries(engine.prices),
      fill: engine.fill,
      orders: engine.orders,
      fills: engine.fills,
      pendingReplies: [...state.pendingReplies.values()],
      discarded: state.discarded,
      books: [...engine.accounts.values()].map((a) => ({ ...a, positions: [...a.positions.values()] })),
    }),
  });
  const controls: IbkrControls = {
    ...common,
    login: () => login(state, clock),
    expireSession: () => expireSession(state),
    dropBrokerageSession({ competing = false } = {}) {
      Object.assign(state.session, { authenticated: false, competing, accountsFetched: false });
      engine.notify();
    },
    setQuestions(questions) {
      state.config.questions = questions;
    },
    rejectNextOrder({ count = 1, error = 'Order rejected by the fake broker', status } = {}) {
      for (let i = 0; i < count; i += 1)
        state.forcedRejects.push({ error, status: status ?? state.config.orderErrorStatus });
    },
    configure(config) {
      state.config = { ...state.config, ...config };
      return state.config;
    },
  };
  const admin = {
    ...commonAdmin(controls),
    login: () => controls.login(),
    'expire-session': () => controls.expireSession(),
    'drop-brokerage-session': (req: FakeRequest) =>
      controls.dropBrokerageSession({ competing: objectBody(req).competing === true }),
    questions: (req: FakeRequest) => {
      const { questions } = objectBody(req);
      if (!Array.isArray(questions)) throw new Error('body must be {questions:[{message:[…], messageIds:[…]}]}');
      controls.setQuestions(questions as IbkrQuestion[]);
    },
    'reject-next': (req: FakeRequest) => {
      const body = objectBody(req);
      controls.rejectNextOrder({
        ...(typeof body.count === 'number' ? { count: body.count } : {}),
        ...(typeof body.error === 'string' ? { error: body.error } : {}),
        ...(typeof body.status === 'number' ? { status: body.status } : {}),
      });
    },
    config: (req: FakeRequest) =>
      req.method === 'GET' ? state.config : controls.configure(objectBody(req) as Partial<IbkrConfig>),
  };

  const server = await startServer({
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.tls !== undefined ? { tls: options.tls } : {}),
    basePath: '/v1/api',
    router,
    admin,
    faults,
    hooks,
  });
  return {
    url: `${server.origin}/v1/api`,
    port: server.port,
    state,
    controls,
    async close() {
      engine.close();
      await server.close();
    },
  };
}

function blankSession(): IbkrState['session'] {
  return {
    ssoLoggedIn: false,
    authenticated: false,
    competing: false,
    connected: true,
    number: 0,
    accountsFetched: false,
    portfolioAccountsFetched: false,
    liveOrdersCalls: 0,
    lastActivityMs: 0,
    suppressed: new Set(),
  };
}
