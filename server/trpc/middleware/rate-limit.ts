/**
 * Per-call rate limits of the tRPC API (the per-address limit of every HTTP request is server/http/rate-limit.ts).
 * Plain functions rather than tRPC middlewares so init.ts can use them without an import cycle. Refusals are
 * RateLimited errors: TOO_MANY_REQUESTS, HTTP 429, `data.retryAfterS` and a `Retry-After` header.
 */
import type { TRPCError } from '@trpc/server';
import { sha256Hex } from '../../lib/crypto.ts';
import { ipRateKey, type RateClass, type RateDecision } from '../../lib/rate-limit.ts';
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
  /**
   * Clears the email's counts, so a trader who finally remembers their password starts afresh. Only the right
   * password gets here, so an attacker cannot clear them; the per-address count stays.
   */
  succeeded(): Promise<void>;
}

/**
 * Counts a login attempt against the per-address, per-(address, email) and per-email budgets before the input is
 * parsed or the password checked, so a brute force is cut off whatever the answer would have been. The email is
 * read from the raw input, normalized as the login schema does, and only its hash is used in keys.
 */
export async function beginLoginAttempt(ctx: TrpcContext, rawInput: unknown): Promise<LoginAttempt> {
  const { loginPerIp, loginPerIpEmail, loginPerEmail } = ctx.rateLimiters;
  const ipKey = ipRateKey(ctx.ip);
  const email = (rawInput as { email?: unknown } | null | undefined)?.email;
  const emailKey = typeof email === 'string' ? sha256Hex(email.trim().toLowerCase()) : null;
  const pairKey = emailKey === null ? null : `${ipKey}|${emailKey}`;
  const allowed = { allowed: true } as const;

  const decisions = await Promise.all([
    loginPerIp.consume(ipKey),
    pairKey === null ? allowed : loginPerIpEmail.consume(pairKey),
    emailKey === null ? allowed : loginPerEmail.consume(emailKey),
  ]);
  refuseIfLimited(decisions, 'Too many sign-in attempts');
  return {
    succeeded: async () => {
      if (pairKey !== null) await loginPerIpEmail.reset(pairKey);
      if (emailKey !== null) await loginPerEmail.reset(emailKey);
    },
  };
}

/** Counts one registration from the caller's address; each call of a batch counts (each one runs argon2). */
export async function enforceRegisterLimit(ctx: TrpcContext): Promise<void> {
  refuseIfLimited(
    [await ctx.rateLimiters.registerPerIp.consume(ipRateKey(ctx.ip))],
    'Too many sign-ups from this address',
  );
}

/** Throws RateLimited with the longest wait when any decision refused. The same answer whether an email exists. */
function refuseIfLimited(decisions: RateDecision[], what: string): void {
  const waits = decisions.flatMap((decision) => (decision.allowed ? [] : [decision.retryAfterS]));
  if (waits.length === 0) return;
  const retryAfterS = Math.max(...waits);
  throw new RateLimited(`${what}; try again in ${retryAfterS} s`, retryAfterS);
}

/** tRPC `responseMeta`: a `Retry-After` header (the longest wait) when any call of the request was rate limited. */
export function retryAfterResponseMeta({ errors }: { errors: TRPCError[] }): { headers?: Record<string, string> } {
  const waits = errors.flatMap((error) => (error.cause instanceof RateLimited ? [error.cause.retryAfterS] : []));
  return waits.length > 0 ? { headers: { 'retry-after': String(Math.max(...waits)) } } : {};
}
