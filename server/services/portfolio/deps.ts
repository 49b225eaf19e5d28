import type { RedisClient } from '../../lib/redis-client.ts';

/** What the portfolio verbs need beyond the service context: the cache's Redis (also read for broker marks). */
export interface PortfolioDeps {
  redis: RedisClient;
  /** The clock deciding "today" for periods that end in the future; tests may fix it. */
  now?: () => Date;
}
