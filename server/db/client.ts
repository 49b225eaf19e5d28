/**
 * The MySQL pool and its Drizzle handle. Pool rules from PITFALLS §2: a bounded wait queue (mysql2's default is
 * unbounded), UTC sessions, BIGINT and DECIMAL as strings so nothing passes through a float.
 */
import { drizzle, type MySql2Database } from 'drizzle-orm/mysql2';
import { createPool, type Pool } from 'mysql2/promise';
import * as schema from '#drizzle/schema/index.ts';
import type { Logger } from '../lib/logger.ts';

export type Database = MySql2Database<typeof schema>;

export interface DatabaseHandle {
  db: Database;
  pool: Pool;
  /** Resolves when a `SELECT 1` answers within `timeoutMs`, rejects otherwise. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  queueLimit: number;
  logger?: Logger;
}

export function createDatabase(options: DatabaseOptions): DatabaseHandle {
  const pool = createPool({
    uri: options.url,
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
  });
  const db = drizzle(pool, { schema, mode: 'default' });

  return {
    db,
    pool,
    ping: (timeoutMs = 1_500) => withTimeout(pool.query('SELECT 1'), timeoutMs, 'database ping').then(() => undefined),
    close: () => pool.end(),
  };
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
