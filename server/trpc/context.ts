/**
 * The tRPC context: built once per HTTP request (a batch shares it). It carries the request's logger and id, the
 * process dependencies and the caller, taken from a valid `Authorization: Bearer <access token>` or, for a
 * subscription (an EventSource cannot send headers), from `connectionParams.token`.
 */
import type { CreateFastifyContextOptions } from '@trpc/server/adapters/fastify';
import { decodeJwt } from 'jose';
import type { AppDeps } from '../app.ts';
import { type Logger, logger } from '../lib/logger.ts';
import type { RateLimiters } from '../lib/rate-limit.ts';
import { redisRecentWrites } from '../lib/recent-writes.ts';
import { InvalidAccessToken, verifyAccessToken } from '../lib/tokens.ts';
import type { ServiceContext } from '../services/context.ts';
import type { EventHub } from '../services/events/hub.ts';
import { createReadRouting, type ReadRouting } from './read-routing.ts';

export interface SessionUser {
  id: number;
  role: 'user' | 'admin';
  sessionFamily: string;
  /** Epoch ms when the access token expires: an event stream opened with it ends then. */
  tokenExpiresAt: number;
  /** Epoch ms when the access token was issued: a young token reads the primary (./read-routing.ts). */
  tokenIssuedAt: number;
}

export interface TrpcContext {
  deps: AppDeps;
  requestId: string;
  log: Logger;
  ip: string;
  userAgent: string | undefined;
  user: SessionUser | null;
  /** The app's limiters (built once per app by buildApp). */
  rateLimiters: RateLimiters;
  /** The process's real-time event subscriptions (built once per app by buildApp). */
  eventHub: EventHub;
  /** The database the call's services use: the primary, or for a query maybe the replica (./read-routing.ts). */
  db: ServiceContext['db'];
  readRouting: ReadRouting;
}

const TOKEN_SHAPE = /^[A-Za-z0-9._~+/-]+=*$/;

/**
 * The access token of the request: the bearer header, else, for a subscription only, `connectionParams.token`
 * (httpSubscriptionLink sends connectionParams in the URL, which the request logger redacts).
 */
function accessTokenOf({ req, info }: CreateFastifyContextOptions): string | undefined {
  const bearer = req.headers.authorization?.match(/^Bearer (\S+)$/)?.[1];
  const token = bearer ?? (info.type === 'subscription' ? info.connectionParams?.token : undefined);
  return token !== undefined && TOKEN_SHAPE.test(token) ? token : undefined;
}

async function callerOf(token: string | undefined): Promise<SessionUser | null> {
  if (!token) return null;
  try {
    const claims = await verifyAccessToken(token);
    const { exp = 0, iat = 0 } = decodeJwt(token);
    return {
      id: claims.userId,
      role: claims.role,
      sessionFamily: claims.sessionFamily,
      tokenExpiresAt: exp * 1000,
      tokenIssuedAt: iat * 1000,
    };
  } catch (error) {
    if (error instanceof InvalidAccessToken) return null;
    throw error;
  }
}

export function createContextFactory(deps: AppDeps, rateLimiters: RateLimiters, eventHub: EventHub) {
  const { db, replicaDb, hasReplica } = deps.database;
  const readRouting = createReadRouting(
    { primary: db, replicaDb },
    hasReplica ? redisRecentWrites(deps.redis, logger) : null,
  );
  return async (options: CreateFastifyContextOptions): Promise<TrpcContext> => {
    const { req } = options;
    const user = await callerOf(accessTokenOf(options));
    return {
      deps,
      requestId: req.id,
      log: user ? req.log.child({ userId: user.id }) : req.log,
      ip: req.ip,
      userAgent: req.headers['user-agent'],
      user,
      rateLimiters,
      eventHub,
      db: deps.database.db,
      readRouting,
    };
  };
}

/** The service context of a procedure call: the caller as actor, the call's database, the request's identity. */
export function serviceContext(ctx: TrpcContext): ServiceContext {
  return {
    db: ctx.db,
    log: ctx.log,
    requestId: ctx.requestId,
    actor: ctx.user ? { type: 'user', userId: ctx.user.id, role: ctx.user.role } : { type: 'anonymous' },
    ip: ctx.ip,
    userAgent: ctx.userAgent,
  };
}
