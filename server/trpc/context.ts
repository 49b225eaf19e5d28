/**
 * The tRPC context: built once per HTTP request (a batch shares it). It carries the request's logger and id, the
 * process dependencies and the caller, taken from a valid `Authorization: Bearer <access token>`.
 */
import type { CreateFastifyContextOptions } from '@trpc/server/adapters/fastify';
import type { AppDeps } from '../app.ts';
import type { Logger } from '../lib/logger.ts';
import type { RateLimiters } from '../lib/rate-limit.ts';
import { InvalidAccessToken, verifyAccessToken } from '../lib/tokens.ts';
import type { ServiceContext } from '../services/context.ts';

export interface SessionUser {
  id: number;
  role: 'user' | 'admin';
  sessionFamily: string;
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
}

async function callerOf(authorization: string | undefined): Promise<SessionUser | null> {
  const match = authorization?.match(/^Bearer ([A-Za-z0-9._~+/-]+=*)$/);
  if (!match?.[1]) return null;
  try {
    const claims = await verifyAccessToken(match[1]);
    return { id: claims.userId, role: claims.role, sessionFamily: claims.sessionFamily };
  } catch (error) {
    if (error instanceof InvalidAccessToken) return null;
    throw error;
  }
}

export function createContextFactory(deps: AppDeps, rateLimiters: RateLimiters) {
  return async ({ req }: CreateFastifyContextOptions): Promise<TrpcContext> => {
    const user = await callerOf(req.headers.authorization);
    return {
      deps,
      requestId: req.id,
      log: user ? req.log.child({ userId: user.id }) : req.log,
      ip: req.ip,
      userAgent: req.headers['user-agent'],
      user,
      rateLimiters,
    };
  };
}

/** The service context of a procedure call: the caller as actor, the primary database, the request's identity. */
export function serviceContext(ctx: TrpcContext): ServiceContext {
  return {
    db: ctx.deps.database.db,
    log: ctx.log,
    requestId: ctx.requestId,
    actor: ctx.user ? { type: 'user', userId: ctx.user.id, role: ctx.user.role } : { type: 'anonymous' },
    ip: ctx.ip,
    userAgent: ctx.userAgent,
  };
}
