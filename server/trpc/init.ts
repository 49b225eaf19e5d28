/**
 * tRPC root: superjson, the error formatter and the procedure ladder publicProcedure → protectedProcedure →
 * adminProcedure. Every procedure passes through the service-error middleware, so services throw typed errors and
 * never TRPCError.
 */
import { initTRPC, TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import superjson from 'superjson';
import { ZodError, z } from 'zod';
import { observeProcedure } from '../lib/metrics.ts';
import { isActiveAdmin } from '../services/admin/is-active-admin.ts';
import { isSessionLive } from '../services/auth/session-check.ts';
import type { TrpcContext } from './context.ts';
import { enforceUserRateLimit, rateClassOf } from './middleware/rate-limit.ts';
import { appCodeFor, translateProcedureError } from './middleware/service-errors.ts';

/**
 * Procedure metadata. `rateClass` picks the per-user rate limit: queries default to `read`, mutations to `write`;
 * mutations that call a broker declare `broker`.
 */
export interface ProcedureMeta {
  rateClass?: 'read' | 'write' | 'broker';
}

const t = initTRPC
  .context<TrpcContext>()
  .meta<ProcedureMeta>()
  .create({
    transformer: superjson,
    // Never include stacks in answers, whatever NODE_ENV says.
    isDev: false,
    // Subscriptions (notifications.onEvent) over SSE: a ping keeps idle streams through proxies, and a client that
    // hears nothing, not even a ping, for 45 s reconnects (resuming after its last event).
    sse: { ping: { enabled: true, intervalMs: 15_000 }, client: { reconnectAfterInactivityMs: 45_000 } },
    errorFormatter({ shape, error, ctx }) {
      const masked = error.code === 'INTERNAL_SERVER_ERROR';
      const zodError =
        error.code === 'BAD_REQUEST' && error.cause instanceof ZodError ? z.flattenError(error.cause) : null;
      return {
        code: shape.code,
        message: masked ? 'Internal server error' : shape.message,
        data: {
          code: shape.data.code,
          httpStatus: shape.data.httpStatus,
          path: shape.data.path,
          appCode: appCodeFor(error),
          requestId: ctx?.requestId ?? null,
          zodError,
          retryAfterS: retryAfterOf(error),
        },
      };
    },
  });

function retryAfterOf(error: TRPCError): number | null {
  const cause = error.cause as { retryAfterS?: unknown } | undefined;
  return typeof cause?.retryAfterS === 'number' ? cause.retryAfterS : null;
}

export const router = t.router;
export const mergeRouters = t.mergeRouters;
export const createCallerFactory = t.createCallerFactory;
export const middleware = t.middleware;

/** Every call is timed by procedure and answer (a subscription's stream is not: it lasts as long as its client). */
export const publicProcedure = t.procedure.use(async ({ ctx, path, type, next }) => {
  const startedAt = performance.now();
  const result = await next();
  const timed = type !== 'subscription';
  if (!result.ok) {
    const translated = translateProcedureError(result.error, ctx, path, type);
    if (timed) observeProcedure(path, type, getHTTPStatusCodeFromError(translated), performance.now() - startedAt);
    if (translated !== result.error) throw translated;
    return result;
  }
  if (timed) observeProcedure(path, type, 200, performance.now() - startedAt);
  return result;
});

/**
 * A valid signature is not enough: the token's user must still be enabled and its session family still live, so
 * logout, a password change, refresh-token reuse or an admin's disable end access within seconds, not when the token
 * expires. Checked before the rate limit, so a dead token cannot spend its user's budget.
 */
export const protectedProcedure = publicProcedure.use(async ({ ctx, meta, type, next }) => {
  if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in to continue' });
  if (!(await isSessionLive(ctx.deps.database.db, ctx.user.id, ctx.user.sessionFamily))) {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Your session has ended; sign in again' });
  }
  await enforceUserRateLimit(ctx, ctx.user.id, rateClassOf(meta, type));
  // Queries may read the replica, mutations never; a mutation keeps its user's next reads on the primary.
  const db = await ctx.readRouting.databaseFor(ctx.user, type);
  const result = await next({ ctx: { ...ctx, user: ctx.user, db } });
  if (type === 'mutation') await ctx.readRouting.afterMutation(ctx.user.id);
  return result;
});

/**
 * The token's role is checked first (ordinary users cost no query); the database then confirms it, so a demoted or
 * disabled administrator loses access at once instead of when their access token expires.
 */
export const adminProcedure = protectedProcedure.use(async ({ ctx, next }) => {
  if (ctx.user.role !== 'admin' || !(await isActiveAdmin(ctx.deps.database.db, ctx.user.id))) {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'Administrators only' });
  }
  return next();
});
