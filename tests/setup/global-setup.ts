/**
 * Runs once per `vitest run`: one fresh, migrated database per worker (fillpath_t<run>_1 … _<maxWorkers>), so test
 * files in different workers never see each other's rows, and two runs never see each other's. Test databases left
 * by crashed runs are swept first (see staleDatabases); this run's databases and Redis keys are removed at the end
 * (Redis keys of other runs are never touched).
 * Test infrastructure may read process.env directly.
 */
import mysql from 'mysql2/promise';
import type { TestProject } from 'vitest/node';
import { migrateDatabase } from '../../server/db/migrate.ts';
import {
  DEFAULT_DATABASE_URL,
  DEFAULT_REDIS_URL,
  testDatabasePrefix,
  testRunId,
  workerDatabaseUrl,
} from './databases.ts';
import { findLeaks, removeRunFiles } from './log-secrecy.ts';
import { deleteRedisKeys } from './redis.ts';

/** A test run lasts minutes; a database whose newest table is older than this belongs to no live run. */
const STALE_AFTER_HOURS = 6;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const baseDatabaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const baseRedisUrl = process.env.REDIS_URL || DEFAULT_REDIS_URL;
  const runId = testRunId();
  project.provide('baseDatabaseUrl', baseDatabaseUrl);
  project.provide('baseRedisUrl', baseRedisUrl);
  project.provide('testRunId', runId);

  const workers = Math.max(1, project.config.maxWorkers || 1);
  const urls = Array.from({ length: workers }, (_, i) => workerDatabaseUrl(baseDatabaseUrl, runId, i + 1));
  const serverUrl = new URL(baseDatabaseUrl);
  serverUrl.pathname = '/';
  const conn = await mysql.createConnection({ uri: serverUrl.toString() });
  try {
    await dropDatabases(conn, await staleDatabases(conn, testDatabasePrefix(baseDatabaseUrl)));
    await dropDatabases(
      conn,
      urls.map((url) => new URL(url).pathname.slice(1)),
    );
    // Each database has its own migration lock, so the workers' databases migrate in parallel.
    await Promise.all(urls.map((url) => migrateDatabase(url)));
  } catch (error) {
    await conn.end();
    throw new Error(
      `test database setup failed against ${serverUrl.host}: ${error instanceof Error ? error.message : error}`,
    );
  }
  await conn.end();
  await deleteRedisKeys(baseRedisUrl, `fpt${runId}w*`);

  return async () => {
    const { lines, leaks } = findLeaks(runId);
    removeRunFiles(runId);
    const teardown = await mysql.createConnection({ uri: serverUrl.toString() });
    try {
      await dropDatabases(
        teardown,
        urls.map((url) => new URL(url).pathname.slice(1)),
      );
    } finally {
      await teardown.end();
    }
    await deleteRedisKeys(baseRedisUrl, `fpt${runId}w*`);
    if (leaks.length > 0) {
      throw new Error(`secrets leaked into the logs (${lines} lines checked):\n${leaks.slice(0, 20).join('\n')}`);
    }
  };
}

/**
 * Test databases a crashed run left behind: the pid in the name is not alive here AND the newest table is over
 * STALE_AFTER_HOURS old. The age check matters where runs in other containers share one MariaDB: their pids are
 * invisible from this one, so a dead-looking pid alone would drop a live run's database. A database with no tables
 * (or no CREATE_TIME) has no known age and is kept.
 */
async function staleDatabases(conn: mysql.Connection, prefix: string): Promise<string[]> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(
    `SELECT table_schema AS name FROM information_schema.tables
      WHERE table_schema LIKE ?
      GROUP BY table_schema
     HAVING MAX(create_time) < NOW() - INTERVAL ? HOUR`,
    [`${prefix.replace(/[\\%_]/g, '\\$&')}%`, STALE_AFTER_HOURS],
  );
  const pattern = new RegExp(`^${prefix}([0-9a-z]+)_\\d+$`);
  return rows
    .map((row) => String(row.name))
    .filter((name) => {
      const run = pattern.exec(name)?.[1];
      return run !== undefined && !processAlive(Number.parseInt(run, 36));
    });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function dropDatabases(conn: mysql.Connection, names: string[]): Promise<void> {
  for (const name of names) await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
}
