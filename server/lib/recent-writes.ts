/**
 * Read-your-writes with a read replica (DATABASE_READ_URL). A replica applies the primary's changes a moment later,
 * so a user whose data just changed must read from the primary for a while, or they would not see what they just
 * did. "Just changed" is a Redis key per user with a short expiry, so every api instance knows it, whichever one the
 * user's next request reaches. It is set after each tRPC mutation of the user (server/trpc/read-routing.ts) and
 * before each change announced to them by a real-time event or a portfolio invalidation (server/api.ts,
 * server/worker.ts): the app refetches when told, and a replica still behind would answer, and the portfolio cache
 * keep, the state before the change.
 */
import { env } from './env.ts';
import type { Logger } from './logger.ts';
import type { RedisClient } from './redis-client.ts';

/**
 * How long a user's reads stay on the primary after their data changed. A healthy replica is well under a second
 * behind; one further behind than this serves stale lists (README "Read replicas": alert on replica lag).
 */
export const READ_YOUR_WRITES_MS = 10_000;

// Past this a lookup's answer is taken as "changed" (the primary is always right, only busier), and a mutation
// stops waiting for its note: a stalled Redis must not stall requests.
const REDIS_TIMEOUT_MS = 250;
/** One warning per this interval at most while Redis refuses the notes, instead of one per write. */
const WARN_EVERY_MS = 10_000;

export interface RecentWrites {
  /** Notes that the user's data just changed. Resolves once Redis has it (or gave up); never rejects, a failure is logged. */
  note(userId: number): Promise<void>;
  /** True when the user's data changed within READ_YOUR_WRITES_MS, and whenever Redis cannot say. */
  changedRecently(userId: number): Promise<boolean>;
}

export function recentWriteKey(userId: number): string {
  return `${env.REDIS_PREFIX}:recent-write:${userId}`;
}

/** Notes and lookups on `redis`, which should fail fast (the producer connection). */
export function redisRecentWrites(redis: RedisClient, log: Logger): RecentWrites {
  let lastWarnAt = 0;
  return {
    async note(userId) {
      try {
        await withinTimeout(redis.set(recentWriteKey(userId), '1', 'PX', READ_YOUR_WRITES_MS));
      } catch (error) {
        if (Date.now() - lastWarnAt < WARN_EVERY_MS) return;
        lastWarnAt = Date.now();
        log.warn({ err: error, userId }, 'recent write not noted: a replica read may miss it');
      }
    },
    async changedRecently(userId) {
      try {
        return (await withinTimeout(redis.exists(recentWriteKey(userId)))) > 0;
      } catch {
        return true;
      }
    },
  };
}

function withinTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${REDIS_TIMEOUT_MS} ms`)), REDIS_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * `announce` (a sink's per-user call: publishing an event, invalidating a portfolio) that first notes the user's
 * write, on the same connection, so the note is in Redis before the announcement can reach an api instance. Without
 * a replica (`recent` null) it is `announce` itself.
 */
export function notingWrites<Rest extends unknown[]>(
  recent: RecentWrites | null,
  announce: (userId: number, ...rest: Rest) => void,
): (userId: number, ...rest: Rest) => void {
  if (!recent) return announce;
  return (userId, ...rest) => {
    void recent.note(userId);
    announce(userId, ...rest);
  };
}
