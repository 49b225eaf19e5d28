/**
 * The floor of B3's uncached read: the SQL statements portfolio.getOverview sends, run directly with mysql2. They
 * are captured, not copied: computeOverview (the overview minus HTTP, tRPC and the cache) runs once per trader on a
 * pool whose `query` records each statement with its parameters, so the floor follows the service whenever its
 * queries change. Replaying a trader's statements all at once on a pool gives the database's share of one
 * overview; timing computeOverview itself adds drizzle's mapping and the figures computed in Node.
 *
 * Import this module only once process.env holds the bench's settings: server/lib/env.ts reads them at load.
 */
import type { Redis } from 'ioredis';
import type { Pool } from 'mysql2/promise';
import { createDatabase, type DatabaseHandle } from '../../server/db/client.ts';
import { computeOverview } from '../../server/services/portfolio/overview.ts';
import { percentile } from './lib.ts';

export interface Statement {
  sql: string;
  params: unknown[];
}

export interface Latency {
  samples: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function summarize(samplesMs: number[]): Latency {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (p: number) => Number(percentile(sorted, p).toFixed(2));
  return { samples: sorted.length, p50Ms: at(50), p95Ms: at(95), p99Ms: at(99), maxMs: at(100) };
}

type QueryArg = string | { sql: string; values?: unknown[] };

/** A pool (and its drizzle handle) whose statements are appended to `sink.statements` while it is set. */
function recordingDatabase(url: string): { database: DatabaseHandle; sink: { statements: Statement[] | null } } {
  const database = createDatabase({ url, poolSize: 10, queueLimit: 500 });
  const sink: { statements: Statement[] | null } = { statements: null };
  const pool = database.pool as unknown as { query: (query: QueryArg, params?: unknown[]) => Promise<unknown> };
  const original = pool.query.bind(pool);
  pool.query = (query, params) => {
    const sql = typeof query === 'string' ? query : query.sql;
    const values = params ?? (typeof query === 'string' ? [] : (query.values ?? []));
    sink.statements?.push({ sql, params: values });
    return original(query, params);
  };
  return { database, sink };
}

export interface FloorResult {
  /** computeOverview in this process: drizzle, the SQL and the figures, without HTTP, tRPC or the cache. */
  service: Latency;
  /** The captured statements of one overview, sent all at once with mysql2. */
  sql: Latency;
  /** Each statement alone (one pass over the traders), by its first words: where the database time goes. */
  byStatement: Array<{ statement: string } & Latency>;
  statementsPerOverview: number;
}

async function replayAll(pool: Pool, statements: Statement[]): Promise<void> {
  await Promise.all(statements.map((statement) => pool.query(statement.sql, statement.params)));
}

function label(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim().slice(0, 60);
}

/** `rounds` passes over `userIds`: computeOverview timed and recorded, then the recorded SQL replayed and timed. */
export async function measureFloor(url: string, redis: Redis, userIds: number[], rounds: number): Promise<FloorResult> {
  const { database, sink } = recordingDatabase(url);
  const replay = createDatabase({ url, poolSize: 10, queueLimit: 500 });
  try {
    const captured = new Map<number, Statement[]>();
    const service: number[] = [];
    // The first pass warms the JIT and the buffer pool and records the statements; the others are timed.
    for (let round = 0; round <= rounds; round++) {
      for (const userId of userIds) {
        sink.statements = round === 0 ? [] : null;
        const started = performance.now();
        await computeOverview(database.db, { redis }, { userId });
        if (round > 0) service.push(performance.now() - started);
        if (sink.statements) captured.set(userId, sink.statements);
      }
    }
    sink.statements = null;

    const sql: number[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const userId of userIds) {
        const started = performance.now();
        await replayAll(replay.pool, captured.get(userId) ?? []);
        sql.push(performance.now() - started);
      }
    }

    const perStatement = new Map<string, number[]>();
    for (const userId of userIds) {
      for (const statement of captured.get(userId) ?? []) {
        const started = performance.now();
        await replay.pool.query(statement.sql, statement.params);
        const key = label(statement.sql);
        perStatement.set(key, [...(perStatement.get(key) ?? []), performance.now() - started]);
      }
    }
    const counts = [...captured.values()].map((statements) => statements.length);
    return {
      service: summarize(service),
      sql: summarize(sql),
      byStatement: [...perStatement].map(([statement, samples]) => ({ statement, ...summarize(samples) })),
      statementsPerOverview: Math.max(0, ...counts),
    };
  } finally {
    await database.close();
    await replay.close();
  }
}
