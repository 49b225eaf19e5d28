/**
 * Per-strategy webhook budgets (strategies.rate_per_minute, rate_per_hour; SPEC §9), on the same Redis-backed,
 * memory-insured limiters as the rest of the api (server/lib/rate-limit.ts). A limiter's budget is fixed when it is
 * built, so there is one limiter per distinct budget, built on first use and keyed by strategy id: the schema bounds
 * budgets (1–600 a minute, 1–10,000 an hour), which bounds the number of limiters. Changing a strategy's budget
 * moves it to another limiter, so its count starts afresh under the new budget.
 */
import type { Logger } from '../../lib/logger.ts';
import { createLimiter, type Limiter, type RateDecision } from '../../lib/rate-limit.ts';
import type { RedisClient } from '../../lib/redis-client.ts';

export interface WebhookRateLimiter {
  /** Counts one alert for the strategy against both windows; the minute is checked first. */
  consume(strategy: { id: number; ratePerMinute: number; ratePerHour: number }): Promise<RateDecision>;
}

const WINDOWS = { minute: 60, hour: 3_600 } as const;

function createWebhookRateLimiter(redis: RedisClient, log: Logger): WebhookRateLimiter {
  const limiters = new Map<string, Limiter>();
  const limiter = (window: keyof typeof WINDOWS, points: number) => {
    const name = `webhook-${window}-${points}`;
    let found = limiters.get(name);
    if (!found) {
      found = createLimiter(redis, name, { points, durationS: WINDOWS[window] }, log);
      limiters.set(name, found);
    }
    return found;
  };
  return {
    async consume(strategy) {
      const key = String(strategy.id);
      const minute = await limiter('minute', strategy.ratePerMinute).consume(key);
      // An alert refused by the minute window does not spend the hour's budget.
      if (!minute.allowed) return minute;
      return limiter('hour', strategy.ratePerHour).consume(key);
    },
  };
}

const byConnection = new WeakMap<RedisClient, WebhookRateLimiter>();

/** The webhook limiter on `redis`, one per connection, so every caller of ingestAlert shares the same counts. */
export function webhookRateLimiter(redis: RedisClient, log: Logger): WebhookRateLimiter {
  let limiter = byConnection.get(redis);
  if (!limiter) {
    limiter = createWebhookRateLimiter(redis, log);
    byConnection.set(redis, limiter);
  }
  return limiter;
}
