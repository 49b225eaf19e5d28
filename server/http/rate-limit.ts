/**
 * The global per-address limit: every HTTP request counts once (a tRPC batch too; the per-user limits then count
 * each call in it). Answers 429 `rate-limited` with `Retry-After` before any route runs.
 */
import type { FastifyInstance } from 'fastify';
import { ipRateKey, type Limiter } from '../lib/rate-limit.ts';
import { sendHttpError } from './errors.ts';

/**
 * Not counted: orchestrator probes and Prometheus scrapes (they poll from one address and must never be refused),
 * and TradingView webhooks, which arrive for every user from a handful of TradingView addresses and are limited per
 * strategy.
 */
const EXEMPT_PREFIXES = ['/health/', '/api/v1/webhooks/tradingview/'];
const EXEMPT_PATHS = new Set(['/health', '/metrics']);

function isExempt(url: string): boolean {
  const path = url.split('?', 1)[0] ?? url;
  return EXEMPT_PATHS.has(path) || EXEMPT_PREFIXES.some((prefix) => path.startsWith(prefix));
}

export function registerGlobalRateLimit(app: FastifyInstance, limiter: Limiter) {
  app.addHook('onRequest', async (request, reply) => {
    if (isExempt(request.url)) return;
    const decision = await limiter.consume(ipRateKey(request.ip));
    if (decision.allowed) return;
    reply.header('retry-after', String(decision.retryAfterS));
    return sendHttpError(reply, 429, {
      code: 'rate-limited',
      message: `Too many requests from this address; retry in ${decision.retryAfterS} s`,
    });
  });
}
