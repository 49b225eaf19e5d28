/**
 * Broker marks: the market price each broker reported for a symbol the last time it was asked for positions (a
 * reconciliation run). Kept in Redis per connection, one hash field per symbol, for MARK_TTL_MS: a mark is a moment's
 * price, not a record, and losing it only means the position is valued at its last fill instead.
 */
import { env } from '../../lib/env.ts';
import type { RedisClient } from '../../lib/redis-client.ts';
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
  redis: RedisClient,
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
 *
 * One HMGET per connection, sent together: each touches one key, so on a Redis Cluster, where one pipeline or
 * transaction cannot span slots, the connections' hashes may live on any nodes (auto-pipelining still batches the
 * commands per node). The hashes cannot share a hash tag: their writer knows the connection, not its owner.
 */
export async function brokerMarks(
  redis: RedisClient | null,
  wanted: ReadonlyArray<{ connectionId: number; symbol: string }>,
): Promise<Map<string, Mark>> {
  const marks = new Map<string, Mark>();
  if (!redis || wanted.length === 0 || redis.status !== 'ready') return marks;
  const symbolsOf = new Map<number, string[]>();
  for (const { connectionId, symbol } of wanted) {
    const symbols = symbolsOf.get(connectionId) ?? [];
    if (!symbols.includes(symbol)) symbols.push(symbol);
    symbolsOf.set(connectionId, symbols);
  }
  try {
    const answers = await Promise.all(
      [...symbolsOf].map(([connectionId, symbols]) => redis.hmget(marksKey(connectionId), ...symbols.map(symbolKey))),
    );
    [...symbolsOf].forEach(([connectionId, symbols], index) => {
      symbols.forEach((symbol, position) => {
        const value = answers[index]?.[position];
        if (typeof value !== 'string') return;
        const [price, at] = value.split(' ');
        const when = at ? new Date(at) : null;
        if (price && when && !Number.isNaN(when.getTime())) {
          marks.set(markKey(connectionId, symbol), { price, at: when });
        }
      });
    });
  } catch {
    // Marks are an improvement, never a requirement.
  }
  return marks;
}

export function markKey(connectionId: number, symbol: string): string {
  return `${connectionId}:${symbolKey(symbol)}`;
}
