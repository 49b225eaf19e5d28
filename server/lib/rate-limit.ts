/**
 * Rate limiters: rate-limiter-flexible counters in Redis, shared by every api instance, each insured by an
 * in-memory limiter with the same budget. When Redis is down or slow the insurance counts instead, so limits still
 * hold (per process) and no request waits on Redis: the producer connection fails fast (enableOfflineQueue false),
 * `rejectIfRedisNotReady` skips Redis while it reconnects, and a timeout wrapper covers a Redis that accepts
 * commands but does not answer. Counters are fixed windows that start at a key's first request.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts } from 'rate-limiter-flexible';
import { env } from './env.ts';
import type { Logger } from './logger.ts';
import type { RedisClient } from './redis-client.ts';

export interface RateBudget {
  /** Requests allowed per window. */
  points: number;
  /** Window length in seconds. */
  durationS: number;
}

export const RATE_CLASSES = ['read', 'write', 'broker'] as const;
/** Per-user procedure classes: queries are `read`, mutations `write`, mutations that call a broker `broker`. */
export type RateClass = (typeof RATE_CLASSES)[number];

export interface RateLimitConfig {
  /** Every HTTP request from one address (health probes and TradingView webhooks excepted). */
  globalPerIp: RateBudget;
  read: RateBudget;
  write: RateBudget;
  broker: RateBudget;
  /** Login attempts for one email from one address. */
  loginPerIpEmail: RateBudget;
  /** Login attempts from one address across all emails. */
  loginPerIp: RateBudget;
  /** Login attempts for one email across all addresses. */
  loginPerEmail: RateBudget;
  /** Registrations from one address; each call of a batch counts. */
  registerPerIp: RateBudget;
}

export const DEFAULT_RATE_LIMITS: RateLimitConfig = {
  // 20 requests/s sustained per address: a page load is a few batched calls, and a NAT'd office of traders fits,
  // yet one host cannot flood the api. Counted per HTTP request; the per-user limits count each batched call.
  globalPerIp: { points: 1_200, durationS: 60 },
  // Dashboards poll and page through lists: 5 reads/s per user is far above what a person generates.
  read: { points: 300, durationS: 60 },
  // One configuration change per second per user, sustained.
  write: { points: 60, durationS: 60 },
  // Each one spends the user's own broker API quota (Alpaca allows 200/min per account), so stay well below it.
  broker: { points: 20, durationS: 60 },
  // Brute force: 5 guesses per account per address in 15 minutes (OWASP), and 20 per address across accounts
  // against credential stuffing. Every attempt counts, checked before the password is.
  loginPerIpEmail: { points: 5, durationS: 900 },
  loginPerIp: { points: 20, durationS: 900 },
  // A slow guesser spreading one account's guesses over many addresses: 30 an hour per email, from anywhere.
  loginPerEmail: { points: 30, durationS: 3_600 },
  // Each registration runs argon2 and creates an account: a household or office signs up a few people, not dozens.
  registerPerIp: { points: 10, durationS: 3_600 },
};

// Far above a healthy Redis round trip; past it the insurance counts so a stalled Redis cannot stall requests.
const REDIS_TIMEOUT_MS = 500;

export type RateDecision = { allowed: true } | { allowed: false; retryAfterS: number };

export interface Limiter {
  /** Counts one request for `key`. Never rejects: a store outage falls back to the in-memory insurance. */
  consume(key: string): Promise<RateDecision>;
  /** Forgets `key`'s count, e.g. after a successful login. */
  reset(key: string): Promise<void>;
}

/**
 * A limiter named `name` (its Redis keys are `<REDIS_PREFIX>:rl:<name>:<key>`, so per-run test prefixes isolate
 * them) on the given ioredis connection.
 */
export function createLimiter(redis: RedisClient, name: string, budget: RateBudget, log: Logger): Limiter {
  const keyPrefix = `${env.REDIS_PREFIX}:rl:${name}`;
  const options = { keyPrefix, points: budget.points, duration: budget.durationS };
  // One instance's view only: with N api instances and Redis down, a client may get up to N times the budget.
  const insurance = new RateLimiterMemory(options);
  const store = new RateLimiterRedis({
    ...options,
    storeClient: redis,
    rejectIfRedisNotReady: true,
    insuranceLimiter: insurance,
  });
  const limiter = new RLWrapperTimeouts({ limiter: store, timeoutMs: REDIS_TIMEOUT_MS, insuranceLimiter: insurance });

  return {
    async consume(key) {
      try {
        await limiter.consume(key);
        return { allowed: true };
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) {
          return { allowed: false, retryAfterS: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) };
        }
        // Only reachable if the in-memory insurance itself failed: let the request through rather than fail it.
        log.error({ err: rejection, limiter: name }, 'rate limiter failed; allowing the request');
        return { allowed: true };
      }
    },
    async reset(key) {
      // Both stores: the count may have been taken by either, depending on Redis's health at the time.
      await Promise.allSettled([store.delete(key), insurance.delete(key)]);
    },
  };
}

export interface RateLimiters {
  globalPerIp: Limiter;
  perUser: Record<RateClass, Limiter>;
  loginPerIpEmail: Limiter;
  loginPerIp: Limiter;
  loginPerEmail: Limiter;
  registerPerIp: Limiter;
}

/** The api's limiters, built once per app; `overrides` replace budgets (tests use small ones). */
export function createRateLimiters(
  redis: RedisClient,
  log: Logger,
  overrides: Partial<RateLimitConfig> = {},
): RateLimiters {
  const config = { ...DEFAULT_RATE_LIMITS, ...overrides };
  const make = (name: string, budget: RateBudget) => createLimiter(redis, name, budget, log);
  return {
    globalPerIp: make('ip', config.globalPerIp),
    perUser: {
      read: make('user-read', config.read),
      write: make('user-write', config.write),
      broker: make('user-broker', config.broker),
    },
    loginPerIpEmail: make('login-ip-email', config.loginPerIpEmail),
    loginPerIp: make('login-ip', config.loginPerIp),
    loginPerEmail: make('login-email', config.loginPerEmail),
    registerPerIp: make('register-ip', config.registerPerIp),
  };
}

/**
 * The key of every per-address limit. An IPv4 client is its address; an IPv6 client is its /64, the smallest block
 * a provider hands one subscriber, who can otherwise rotate through 2^64 addresses to reset every budget; an
 * IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a dual-stack socket reports) is the IPv4 address it carries.
 */
export function ipRateKey(ip: string): string {
  // A zone index (`fe80::1%eth0`) names the local interface, not the client.
  const address = ip.split('%', 1)[0] ?? ip;
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return ip;
  const groups = ipv6Groups(address);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6);
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing dotted IPv4 part converted). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = text.match(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => Number.parseInt(group, 16));
}
