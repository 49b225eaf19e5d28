/**
 * Client-side pacing per connection, so Fillpath stays inside each broker's published limits instead of collecting
 * 429s and penalty tickets. Calls wait their turn in a FIFO queue per bucket (rate-limiter-flexible's
 * RateLimiterQueue); a queue that is too long, or a wait past the caller's deadline, fails with BrokerUnavailable.
 * Limits are per process: N processes share a broker's budget N ways only if each is configured for its share.
 */
import { RateLimiterMemory, RateLimiterQueue, RateLimiterQueueError } from 'rate-limiter-flexible';
import { BrokerUnavailable } from './errors.ts';

export interface PaceRule {
  /** Calls allowed per window. */
  points: number;
  windowSeconds: number;
}

/** Rules by bucket; every call takes one token from `default` and, when it names one, from its own bucket too. */
export type PacingRules = { default: PaceRule } & Record<string, PaceRule>;

export interface Pacer {
  /** Resolves when the call may go out. */
  take(bucket?: string): Promise<void>;
}

const MAX_QUEUE = 500;

export function createPacer(name: string, rules: PacingRules): Pacer {
  const queues = new Map<string, RateLimiterQueue>();
  const queueFor = (bucket: string): RateLimiterQueue | undefined => {
    const rule = rules[bucket];
    if (!rule) return undefined;
    let queue = queues.get(bucket);
    if (!queue) {
      const limiter = new RateLimiterMemory({ points: rule.points, duration: rule.windowSeconds });
      queue = new RateLimiterQueue(limiter, { maxQueueSize: MAX_QUEUE });
      queues.set(bucket, queue);
    }
    return queue;
  };

  return {
    async take(bucket) {
      try {
        await queueFor('default')?.removeTokens(1);
        if (bucket && bucket !== 'default') await queueFor(bucket)?.removeTokens(1);
      } catch (error) {
        if (error instanceof RateLimiterQueueError) {
          throw new BrokerUnavailable(`${name}: too many calls waiting for the broker's rate limit`, { cause: error });
        }
        throw error;
      }
    },
  };
}

/** For adapters built without pacing (unit tests): every call goes out at once. */
export const noPacing: Pacer = { take: async () => {} };
