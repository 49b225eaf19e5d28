/**
 * Tradovate authentication (BROKERS.md §2.1, §2.6): access tokens answered with HTTP 200 in success and failure,
 * renewal, /auth/me, and penalty tickets (p-ticket) for the rolling-hour endpoint limits or when forced.
 */
import { randomBytes } from 'node:crypto';
import type { FakeClock } from '../common/clock.ts';
import { type FakeRequest, type FakeResponse, json, objectBody, type Router } from '../common/http.ts';
import { isRecord, str } from '../common/json.ts';
import type { PTicket, TradovateState, TvToken, TvUser } from './types.ts';

/** Per-endpoint limits per rolling hour [T5]: the calls that count, and the back-off of the p-ticket. */
const LIMITS: Record<string, { perHour: number; seconds: number; counts: 'failures' | 'all' }> = {
  accesstokenrequest: { perHour: 5, seconds: 15, counts: 'failures' },
  renewaccesstoken: { perHour: 15, seconds: 15, counts: 'all' },
  me: { perHour: 10, seconds: 30, counts: 'failures' },
};
const HOUR = 3_600_000;

export const ACCESS_DENIED: FakeResponse = { status: 401, text: 'Access is denied' };
export const BAD_LOGIN = 'Incorrect username or password. Please try again noting that passwords are case-sensitive.';

export interface AuthContext {
  state: TradovateState;
  clock: FakeClock;
}

export function registerAuthRoutes(router: Router, ctx: AuthContext): void {
  router
    .add('POST', '/auth/accesstokenrequest', (req) => accessTokenRequest(ctx, req))
    .add(['GET', 'POST'], '/auth/renewaccesstoken', (req) =>
      penalised(ctx, req, 'renewaccesstoken', () => {
        const session = bearer(ctx, req);
        if (!session) return ACCESS_DENIED;
        const token = issueToken(ctx, session.user, session.token.deviceId);
        return json(200, tokenBody(ctx, session.user, token));
      }),
    )
    .add('GET', '/auth/me', (req) =>
      penalised(ctx, req, 'me', () => {
        const session = bearer(ctx, req);
        if (!session) return ACCESS_DENIED;
        const { user } = session;
        return json(200, {
          userId: user.id,
          name: user.name,
          fullName: `${user.name} (fake)`,
          email: `${user.name}@example.test`,
          emailVerified: true,
          isTrial: false,
          organizationName: 'Fillpath fake',
        });
      }),
    );
}

/** The user and token behind `Authorization: Bearer`, or null (missing, unknown, expired, revoked). */
export function bearer(ctx: AuthContext, req: FakeRequest): { user: TvUser; token: TvToken } | null {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return null;
  const value = header.slice('Bearer '.length).trim();
  const token = ctx.state.tokens.find((t) => t.accessToken === value);
  if (!token || token.revoked || token.expiresAtMs <= ctx.clock.nowMs()) return null;
  const user = ctx.state.users.find((u) => u.id === token.userId);
  return user ? { user, token } : null;
}

function accessTokenRequest(ctx: AuthContext, req: FakeRequest): FakeResponse {
  if (req.bodyInvalid || !isRecord(req.body)) return { status: 400 };
  const body = req.body;
  return penalised(ctx, req, 'accesstokenrequest', () => {
    const name = str(body, 'name');
    const password = str(body, 'password');
    if (!name || !password) return json(200, { errorText: 'name and password are required' });
    const user = ctx.state.users.find((u) => u.name === name);
    if (!user || user.password !== password) return json(200, { errorText: BAD_LOGIN });
    if (String(body.cid ?? '') !== user.cid || str(body, 'sec') !== user.sec) {
      return json(200, { errorText: 'Incorrect API key (cid) or secret (sec)' });
    }
    const deviceId = str(body, 'deviceId') ?? null;
    if (user.deviceId === null && deviceId) user.deviceId = deviceId;
    if (ctx.state.config.singleSession) {
      for (const token of ctx.state.tokens) if (token.userId === user.id) token.revoked = true;
    }
    return json(200, tokenBody(ctx, user, issueToken(ctx, user, deviceId)));
  });
}

function issueToken(ctx: AuthContext, user: TvUser, deviceId: string | null): TvToken {
  const token: TvToken = {
    accessToken: randomBytes(24).toString('base64url'),
    mdAccessToken: randomBytes(24).toString('base64url'),
    userId: user.id,
    expiresAtMs: ctx.clock.nowMs() + ctx.state.config.tokenLifetimeMs,
    deviceId,
    revoked: false,
  };
  ctx.state.tokens.push(token);
  ctx.state.engine.notify();
  return token;
}

function tokenBody(ctx: AuthContext, user: TvUser, token: TvToken): Record<string, unknown> {
  return {
    accessToken: token.accessToken,
    mdAccessToken: token.mdAccessToken,
    expirationTime: new Date(token.expiresAtMs).toISOString(),
    passwordExpirationTime: new Date(ctx.clock.nowMs() + 365 * 24 * HOUR).toISOString(),
    userStatus: user.userStatus,
    userId: user.id,
    name: user.name,
    hasLive: false,
    hasSimPlus: false,
  };
}

/**
 * Runs `handler` unless the request must be penalised: a forced p-ticket, an endpoint over its rolling-hour limit,
 * or a resend whose ticket is not ripe yet (each early resend doubles the wait). A ripe ticket always passes.
 */
function penalised(ctx: AuthContext, req: FakeRequest, endpoint: string, handler: () => FakeResponse): FakeResponse {
  const { state, clock } = ctx;
  const now = clock.nowMs();
  const presented = ticketOf(req);
  const ticket = presented ? state.pTickets.get(presented) : undefined;
  if (now < state.captchaUntilMs)
    return pTicketResponse(issue(ctx, endpoint, (state.captchaUntilMs - now) / 1000, true));
  if (ticket && ticket.endpoint === endpoint) {
    state.pTickets.delete(ticket.ticket);
    if (now < ticket.readyAtMs) return pTicketResponse(issue(ctx, endpoint, ticket.seconds * 2, false));
  } else {
    const forcedIndex = state.forcedPTickets.findIndex((f) => f.endpoint === null || f.endpoint === endpoint);
    const forced = state.forcedPTickets[forcedIndex];
    if (forced) {
      state.forcedPTickets.splice(forcedIndex, 1);
      if (forced.captcha) state.captchaUntilMs = now + HOUR;
      return pTicketResponse(issue(ctx, endpoint, forced.captcha ? HOUR / 1000 : forced.seconds, forced.captcha));
    }
    const limit = LIMITS[endpoint];
    if (limit && state.config.endpointLimits && recent(ctx, endpoint).length >= limit.perHour) {
      return pTicketResponse(issue(ctx, endpoint, limit.seconds, false));
    }
  }
  const response = handler();
  const limit = LIMITS[endpoint];
  const failed = response.status !== 200 || (isRecord(response.json) && typeof response.json.errorText === 'string');
  if (limit && (limit.counts === 'all' || failed)) recent(ctx, endpoint).push(now);
  return response;
}

function ticketOf(req: FakeRequest): string | null {
  const fromQuery = req.query.get('p-ticket');
  if (fromQuery) return fromQuery;
  return isRecord(req.body) ? (str(req.body, 'p-ticket') ?? null) : null;
}

/** Calls (or failures) of an endpoint within the last hour, pruned in place. */
function recent(ctx: AuthContext, endpoint: string): number[] {
  const cutoff = ctx.clock.nowMs() - HOUR;
  const kept = (ctx.state.limitEvents.get(endpoint) ?? []).filter((t) => t > cutoff);
  ctx.state.limitEvents.set(endpoint, kept);
  return kept;
}

function issue(ctx: AuthContext, endpoint: string, seconds: number, captcha: boolean): PTicket {
  const whole = Math.max(0, Math.ceil(seconds));
  const ticket: PTicket = {
    ticket: randomBytes(18).toString('base64url'),
    endpoint,
    readyAtMs: ctx.clock.nowMs() + whole * 1000,
    seconds: whole,
    captcha,
  };
  ctx.state.pTickets.set(ticket.ticket, ticket);
  ctx.state.engine.notify();
  return ticket;
}

function pTicketResponse(ticket: PTicket): FakeResponse {
  const body: Record<string, unknown> = { 'p-ticket': ticket.ticket, 'p-time': ticket.seconds };
  if (ticket.captcha) body['p-captcha'] = true;
  return json(200, body);
}

/** Admin body → forced p-ticket ({count, time, captcha, endpoint}). */
export function forcedPTicketFromJson(req: FakeRequest): {
  count: number;
  seconds: number;
  captcha: boolean;
  endpoint: string | null;
} {
  const body = objectBody(req);
  return {
    count: typeof body.count === 'number' ? body.count : 1,
    seconds: typeof body.time === 'number' ? body.time : 15,
    captcha: body.captcha === true,
    endpoint: typeof body.endpoint === 'string' ? body.endpoint : null,
  };
}
