/**
 * Per-call rate limits of the tRPC API (the per-address limit of every HTTP request is server/http/rate-limit.ts).
 * Plain functions rather than tRPC middlewares so init.ts can use them without an import cycle. Refusals are
 * RateLimited errors: TOO_MANY_REQUESTS, HTTP 429, `data.retryAfterS` and a `Retry-After` header.
 */
import type { TRPCError } from '@trpc/server';
import { sha256Hex } from '../../lib/crypto.ts';
import type { RateClass } from '../../lib/rate-limit.ts';
import { RateLimited } from '../../services/errors.ts';
import type { TrpcContext } from '../context.ts';
import type { ProcedureMeta } from '../init.ts';

/** `meta.rateClass` when declared, otherwise mutations are writes and queries and subscriptions are reads. */
export function rateClassOf(meta: ProcedureMeta | undefined, type: string): RateClass {
  return meta?.rateClass ?? (type === 'mutation' ? 'write' : 'read');
}

/** Counts one call of `rateClass` for the user; each call of a batch counts. */
export async function enforceUserRateLimit(ctx: TrpcContext, userId: number, rateClass: RateClass): Promise<void> {
  const decision = await ctx.rateLimiters.perUser[rateClass].consume(String(userId));
  if (!decision.allowed) {
    throw new RateLimited(`Too many requests; try again in ${decision.retryAfterS} s`, decision.retryAfterS);
  }
}

export interface LoginAttempt {
  /** Clears the (address, email) count, so a trader who finally remembers their password starts afresh. */
  succeeded(): Promise<void>;
}

/**
 * Counts a login attempt against the per-address and per-(address, email) budgets before the input is parsed or
 * the password checked, so a brute force is cut off whatever the answer would have been. The email is read from
 * the raw input, normalized as the login schema does, and only its hash is used in keys.
 */
export async function beginLoginAttempt(ctx: TrpcContext, rawInput: unknown): Promise<LoginAttempt> {
  const { loginPerIp, loginPerIpEmail } = ctx.rateLimiters;
  const email = (rawInput as { email?: unknown } | null | undefined)?.email;
  const pairKey = typeof email === 'string' ? `${ctx.ip}|${sha256Hex(email.trim().toLowerCase())}` : null;

  const decisions = await Promise.all([
    loginPerIp.consume(ctx.ip),
    pairKey === null ? ({ allowed: true } as const) : loginPerIpEmail.consume(pairKey),
  ]);
  const waits = decisions.flatMap((decision) => (decision.allowed ? [] : [decision.retryAfterS]));
  if (waits.length > 0) {
    const retryAfterS = Math.max(...waits);
    // The same answer whether or not the email has an account.
    throw new RateLimited(`Too many sign-in attempts; try again in ${retryAfterS} s`, retryAfterS);
  }
  return {
    succeeded: async () => {
      if (pairKey !== null) await loginPerIpEmail.reset(pairKey);
    },
  };
}

/** tRPC `responseMeta`: a `Retry-After` header (the longest wait) when any call of the request was rate limited. */
export function retryAfterResponseMeta({ errors }: { errors: TRPCError[] }): { headers?: Record<string, string> } {
  const waits = errors.flatMap((error) => (error.cause instanceof RateLimited ? [error.cause.retryAfterS] : []));
  return waits.length > 0 ? { headers: { 'retry-after': String(Math.max(...waits)) } } : {};
}
