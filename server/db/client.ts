/**
 * The MySQL pool and its Drizzle handle, plus a read replica's when DATABASE_READ_URL is set. Pool rules from
 * PITFALLS §2: a bounded wait queue (mysql2's default is unbounded), UTC sessions, BIGINT and DECIMAL as strings so
 * nothing passes through a float.
 */
import { withReplicas } from 'drizzle-orm/mysql-core';
import { drizzle, type MySql2Database } from 'drizzle-orm/mysql2';
import { createPool, type Pool } from 'mysql2/promise';
import * as schema from '#drizzle/schema/index.ts';
import type { PoolStats } from '#shared/schemas/health.ts';
import { env } from '../lib/env.ts';
import { logger as defaultLogger, type Logger } from '../lib/logger.ts';
import { watchQueryTimes } from './query-timing.ts';

export type Database = MySql2Database<typeof schema>;

export interface DatabaseHandle {
  /** The primary: every write, every transaction, and every read that feeds a decision. */
  db: Database;
  /**
   * Plain selects and relational queries go to the read replica, writes, `execute` and transactions to the primary
   * (drizzle's withReplicas); the primary itself without a replica. Only for reads that may be a moment stale: the
   * tRPC layer hands it to queries under the rule of server/trpc/read-routing.ts.
   */
  replicaDb: Database;
  /** Whether replicaDb reads from a replica (DATABASE_READ_URL was given). */
  hasReplica: boolean;
  pool: Pool;
  /** Resolves when a `SELECT 1` answers within `timeoutMs`, rejects otherwise. */
  ping(timeoutMs?: number): Promise<void>;
  /** The primary pool's connections open (busy or idle) and requests waiting for one, for health.details. */
  poolStats(): PoolStats;
  /** The same for every pool by name, `primary` and, with a replica, `replica`: for /metrics. */
  poolStatsByName(): Record<string, PoolStats>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url: string;
  /** A read replica (DATABASE_READ_URL): a second pool, of `poolSize` connections too, behind `replicaDb`. */
  readUrl?: string;
  poolSize: number;
  queueLimit: number;
  /** Where slow statements are logged (the process logger by default). */
  logger?: Logger;
}

export function createDatabase(options: DatabaseOptions): DatabaseHandle {
  const pool = openPool(options.url, options);
  const db = drizzle(pool, { schema, mode: 'default' });
  // Process-wide: the first database created sets the logger.
  watchQueryTimes({ thresholdMs: env.SLOW_QUERY_MS, log: options.logger ?? defaultLogger });
  const replicaPool = options.readUrl ? openPool(options.readUrl, options, { readOnly: true }) : null;
  const replicaDb = replicaPool ? withReplicas(db, [drizzle(replicaPool, { schema, mode: 'default' })]) : db;

  return {
    db,
    replicaDb,
    hasReplica: replicaPool !== null,
    pool,
    ping: (timeoutMs = 1_500) => withTimeout(pool.query('SELECT 1'), timeoutMs, 'database ping').then(() => undefined),
    poolStats: () => poolStatsOf(pool, options.poolSize),
    poolStatsByName: () => ({
      primary: poolStatsOf(pool, options.poolSize),
      ...(replicaPool && { replica: poolStatsOf(replicaPool, options.poolSize) }),
    }),
    close: async () => {
      await Promise.all([pool.end(), replicaPool?.end()]);
    },
  };
}

/**
 * A replica's sessions are read-only: should a write ever be sent there, it fails loudly instead of making the
 * replica differ from its primary (a privileged account ignores the server's `read_only`).
 */
function openPool(url: string, options: DatabaseOptions, { readOnly = false } = {}): Pool {
  const pool = createPool({
    uri: url,
    connectionLimit: options.poolSize,
    queueLimit: options.queueLimit,
    waitForConnections: true,
    connectTimeout: 5_000,
    enableKeepAlive: true,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    charset: 'utf8mb4_unicode_ci',
    // mysql2 captures a stack trace on every query to decorate the rare error: about 6% of the worker's CPU under
    // load. Drizzle's own error (the failed statement, the driver error as cause) already says where it came from.
    trace: false,
  });
  // Every session runs in UTC so datetime(3) columns mean the same thing on every server.
  pool.on('connection', (connection) => {
    connection.query("SET time_zone = '+00:00'");
    if (readOnly) connection.query('SET SESSION TRANSACTION READ ONLY');
  });
  return pool;
}

/**
 * mysql2 publishes no statistics: they are read from the core pool's queues (`_allConnections`, `_freeConnections`,
 * `_connectionQueue`, each with a `length`). Should a driver upgrade rename them, the numbers read 0 rather than
 * break /metrics or health.details.
 */
function poolStatsOf(pool: Pool, limit: number): PoolStats {
  const core = (pool as unknown as { pool?: Record<string, { length?: unknown } | undefined> }).pool;
  const size = (name: string) => {
    const length = core?.[name]?.length;
    return typeof length === 'number' && length >= 0 ? length : 0;
  };
  const open = size('_allConnections');
  const idle = Math.min(size('_freeConnections'), open);
  return { limit, open, inUse: open - idle, idle, waiting: size('_connectionQueue') };
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
