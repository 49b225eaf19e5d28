/**
 * IBKR gateway session (BROKERS.md §3.2, §3.7, §3.8): SSO login (a test hook: there is no API login), brokerage
 * session, tickle, /iserver/accounts before orders, idle time-out, pacing with a penalty box.
 */
import { randomBytes } from 'node:crypto';
import type { FakeClock } from '../common/clock.ts';
import { type FakeRequest, type FakeResponse, json, type Router } from '../common/http.ts';
import { isRecord } from '../common/json.ts';
import type { IbkrState } from './types.ts';

export interface IbkrContext {
  state: IbkrState;
  clock: FakeClock;
}

const SERVER_INFO = { serverName: 'FakeGateway1', serverVersion: 'Build 10.30.1, fake' };
const MAC = '02:00:00:00:00:01';
/** Minimum spacing per endpoint [K2]. */
const PACED: Record<string, number> = {
  '/iserver/account/orders': 5_000,
  '/iserver/account/trades': 5_000,
  '/portfolio/accounts': 5_000,
  '/portfolio/subaccounts': 5_000,
  '/tickle': 1_000,
  '/sso/validate': 60_000,
};
const GATEWAY_PER_SECOND = 10;
/** Calls that need /iserver/accounts first [C K3, K1]. */
const NEEDS_ACCOUNTS = new Set([
  'POST /iserver/account/:accountId/orders',
  'POST /iserver/account/:accountId/order/:orderId',
  'DELETE /iserver/account/:accountId/order/:orderId',
  'GET /iserver/account/orders',
]);
const NEEDS_PORTFOLIO_ACCOUNTS = new Set([
  '/portfolio/:accountId/positions/:page',
  '/portfolio/:accountId/summary',
  '/portfolio/:accountId/ledger',
]);
const OPEN = new Set(['/iserver/auth/status']);
const SSO_ONLY = new Set(['/iserver/auth/ssodh/init', '/iserver/reauthenticate']);

export const ibError = (status: number, error: string): FakeResponse => json(status, { error });

export function authStatus(state: IbkrState) {
  const { session } = state;
  return {
    authenticated: session.ssoLoggedIn && session.authenticated,
    competing: session.competing,
    connected: session.connected,
    message: '',
    MAC,
    serverInfo: SERVER_INFO,
    hardware_info: '0a1b2c3d|02:00:00:00:00:01',
    fail: '',
  };
}

/** The browser login (a test hook): SSO and brokerage session up, a new session number. */
export function login(state: IbkrState, clock: FakeClock): void {
  const { session } = state;
  Object.assign(session, {
    ssoLoggedIn: true,
    authenticated: true,
    competing: false,
    connected: true,
    number: session.number + 1,
    accountsFetched: false,
    portfolioAccountsFetched: false,
    liveOrdersCalls: 0,
    lastActivityMs: clock.nowMs(),
  });
  state.engine.notify();
}

export function expireSession(state: IbkrState): void {
  Object.assign(state.session, { ssoLoggedIn: false, authenticated: false, accountsFetched: false });
  state.engine.notify();
}

/** The broker's own gate, run before every handler: pacing, idle time-out, login, brokerage session, call order. */
export function gate(ctx: IbkrContext, req: FakeRequest): FakeResponse | null {
  const { state, clock } = ctx;
  const now = clock.nowMs();
  const { session, config } = state;
  if (config.pacing) {
    if (now < state.penaltyUntilMs) return { status: 429 };
    const window = state.secondWindow;
    if (now - window.startMs >= 1_000) Object.assign(window, { startMs: now, count: 0 });
    window.count += 1;
    const spacing = req.pattern ? PACED[req.pattern] : undefined;
    const key = `${req.method} ${req.pattern}`;
    const last = state.lastCall.get(key);
    state.lastCall.set(key, now);
    if (window.count > GATEWAY_PER_SECOND || (spacing !== undefined && last !== undefined && now - last < spacing)) {
      state.penaltyUntilMs = now + config.penaltyBoxMs;
      return { status: 429 };
    }
  }
  if (session.ssoLoggedIn && config.idleTimeoutMs !== null && now - session.lastActivityMs > config.idleTimeoutMs) {
    expireSession(state);
  }
  const pattern = req.pattern ?? req.path;
  if (OPEN.has(pattern)) return null;
  if (!session.ssoLoggedIn) return { status: 401 };
  session.lastActivityMs = now;
  if (pattern.startsWith('/iserver/') && !SSO_ONLY.has(pattern) && !session.authenticated) {
    return json(400, { error: 'Init session first', statusCode: 400 });
  }
  if (config.requireAccountsCall && !session.accountsFetched && NEEDS_ACCOUNTS.has(`${req.method} ${pattern}`)) {
    return ibError(400, 'Please query /iserver/accounts first');
  }
  if (
    config.requirePortfolioAccountsCall &&
    !session.portfolioAccountsFetched &&
    NEEDS_PORTFOLIO_ACCOUNTS.has(pattern)
  ) {
    return ibError(400, 'Please query /portfolio/accounts first');
  }
  return null;
}

export function registerSessionRoutes(router: Router, ctx: IbkrContext): void {
  const { state, clock } = ctx;
  const tickle = () =>
    json(200, {
      session: randomBytes(16).toString('hex'),
      ssoExpires: Math.max(0, (state.config.idleTimeoutMs ?? 3_600_000) - 1_000),
      collission: false,
      userId: 12345678,
      hmds: { error: 'no bridge' },
      iserver: { authStatus: authStatus(state) },
    });
  const reauthenticate = () => {
    state.session.authenticated = true;
    state.session.competing = false;
    state.session.accountsFetched = false;
    state.engine.notify();
    return json(200, { message: 'triggered' });
  };
  router
    .add(['GET', 'POST'], '/iserver/auth/status', () => {
      if (state.session.ssoLoggedIn) state.session.lastActivityMs = clock.nowMs();
      return json(200, authStatus(state));
    })
    .add('POST', '/iserver/auth/ssodh/init', () => {
      Object.assign(state.session, { authenticated: true, competing: false, connected: true, accountsFetched: false });
      state.engine.notify();
      return json(200, { ...authStatus(state), passed: true });
    })
    .add(['GET', 'POST'], '/iserver/reauthenticate', reauthenticate)
    .add(['GET', 'POST'], '/tickle', tickle)
    .add('GET', '/sso/validate', () =>
      json(200, {
        USER_ID: 12345678,
        USER_NAME: 'fakeuser',
        RESULT: true,
        AUTH_TIME: state.session.lastActivityMs,
        SF_ENABLED: false,
        IS_FREE_TRIAL: false,
        CREDENTIAL: 'fakeuser',
        IP: '127.0.0.1',
        EXPIRES: state.config.idleTimeoutMs ?? 3_600_000,
        QUALIFIED_FOR_MOBILE_AUTH: null,
        LANDING_APP: 'UNIVERSAL',
        IS_MASTER: false,
        lastAccessed: clock.nowMs(),
        LOGIN_TYPE: 2,
        PAPER_USER_NAME: 'fakeuser',
        features: { env: 'PROD', wlms: true, realtime: true, bond: true, optionChains: true, calendar: true },
        region: 'NJ',
      }),
    )
    .add('POST', '/logout', () => {
      expireSession(state);
      return json(200, { status: true });
    })
    .add('GET', '/iserver/accounts', () => {
      state.session.accountsFetched = true;
      const props = Object.fromEntries(
        state.accounts.map((a) => [
          a,
          { hasChildAccounts: false, supportsCashQty: true, supportsFractions: false, allowCustomerTime: false },
        ]),
      );
      return json(200, {
        accounts: state.accounts,
        acctProps: props,
        aliases: Object.fromEntries(state.accounts.map((a) => [a, a])),
        allowFeatures: { showGFIS: false, allowFXConv: true, allowTypeAhead: true },
        chartPeriods: {},
        groups: [],
        profiles: [],
        selectedAccount: state.accounts[0] ?? null,
        serverInfo: SERVER_INFO,
        sessionId: `fake-session-${state.session.number}`,
        isFT: false,
        isPaper: true,
      });
    })
    .add('POST', '/iserver/questions/suppress', (req) => {
      const ids = isRecord(req.body) && Array.isArray(req.body.messageIds) ? req.body.messageIds : null;
      if (!ids) return ibError(400, 'messageIds is required');
      for (const id of ids) if (typeof id === 'string') state.session.suppressed.add(id);
      return json(200, { status: 'submitted' });
    })
    .add('POST', '/iserver/questions/suppress/reset', () => {
      state.session.suppressed.clear();
      return json(200, { status: 'submitted' });
    });
}
