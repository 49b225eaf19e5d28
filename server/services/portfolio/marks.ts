/**
 * Broker marks: the market price each broker reported for a symbol the last time it was asked for positions (a
 * reconciliation run). Kept in Redis per connection, one hash field per symbol, for MARK_TTL_MS: a mark is a moment's
 * price, not a record, and losing it only means the position is valued at its last fill instead.
 */
import type { Redis } from 'ioredis';
import { env } from '../../lib/env.ts';
import { symbolKey } from '../reconcile/compare.ts';

/** A day: older than that, the position's last fill is as good a guess. */
const MARK_TTL_MS = 86_400_000;

export interface Mark {
  price: string;
  at: Date;
}

function marksKey(connectionId: number): string {
  return `${env.REDIS_PREFIX}:portfolio:marks:${connectionId}`;
}

/** Records the prices a broker reported for a connection's positions (those without a price are skipped). */
export async function rememberBrokerMarks(
  redis: Redis,
  connectionId: number,
  positions: ReadonlyArray<{ symbol: string; marketPrice: string | null }>,
  at: Date,
): Promise<void> {
  const fields: string[] = [];
  for (const position of positions) {
    if (position.marketPrice === null || !/^\d+(\.\d+)?$/.test(position.marketPrice)) continue;
    fields.push(symbolKey(position.symbol), `${position.marketPrice} ${at.toISOString()}`);
  }
  if (fields.length === 0) return;
  await redis
    .multi()
    .hset(marksKey(connectionId), ...fields)
    .pexpire(marksKey(connectionId), MARK_TTL_MS)
    .exec();
}

/**
 * The broker marks of the given (connection, symbol) pairs, keyed `connectionId:symbolKey`. Best effort: with Redis
 * away the answer is empty and positions fall back to their last fill.
 */
export async function brokerMarks(
  redis: Redis | null,
  wanted: ReadonlyArray<{ connectionId: number; symbol: string }>,
): Promise<Map<string, Mark>> {
  const marks = new Map<string, Mark>();
  if (!redis || wanted.length === 0 || redis.status !== 'ready') return marks;
  try {
    const pipeline = redis.pipeline();
    for (const { connectionId, symbol } of wanted) pipeline.hget(marksKey(connectionId), symbolKey(symbol));
    const answers = (await pipeline.exec()) ?? [];
    wanted.forEach(({ connectionId, symbol }, index) => {
      const value = answers[index]?.[1];
      if (typeof value !== 'string') return;
      const [price, at] = value.split(' ');
      const when = at ? new Date(at) : null;
      if (price && when && !Number.isNaN(when.getTime())) marks.set(markKey(connectionId, symbol), { price, at: when });
    });
  } catch {
    // Marks are an improvement, never a requirement.
  }
  return marks;
}

export function markKey(connectionId: number, symbol: string): string {
  return `${connectionId}:${symbolKey(symbol)}`;
}
