/**
 * The current worker's test database (set up by tests/setup), through the same pool factory the app uses, so tests
 * see exactly what production code sees (UTC sessions, big numbers and decimals as strings).
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, inject } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../server/db/client.ts';
import { mysqlErrorCode } from '../../server/db/errors.ts';
import { migrateDatabase } from '../../server/db/migrate.ts';
import { workerDatabaseUrl } from '../setup/databases.ts';

/** The test database URL; read at call time because per-file setup assigns it after module imports are hoisted. */
export function testDatabaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is unset: tests/setup/per-file.ts did not run');
  return url;
}

/**
 * Call at the top level of a test file: returns a pool + drizzle handle for the file and closes it after the
 * file's tests. Pools connect lazily, so an unused handle costs nothing.
 */
export function useTestDatabase(): DatabaseHandle {
  const handle = createDatabase({ url: testDatabaseUrl(), poolSize: 4, queueLimit: 100 });
  afterAll(() => handle.close());
  return handle;
}

// Far above any vitest worker's pool id.
const REPLICA_POOL_ID_OFFSET = 1_000;

/**
 * Call at the top level of a test file: the URL of a second database, migrated like the worker's, standing in for a
 * read replica (DATABASE_READ_URL). Nothing replicates into it: a test puts there what the "replica" should answer,
 * which is how it tells replica reads from primary reads. Created before the file's tests and dropped after them;
 * named like the database of an unused worker, so the stale-database sweep also removes one a crashed run left.
 */
export function useReplicaDatabase(): string {
  const poolId = Number(process.env.VITEST_POOL_ID ?? '1') || 1;
  const url = workerDatabaseUrl(inject('baseDatabaseUrl'), inject('testRunId'), REPLICA_POOL_ID_OFFSET + poolId);
  const drop = async () => {
    const server = new URL(url);
    const name = server.pathname.slice(1);
    server.pathname = '/';
    const conn = await mysql.createConnection({ uri: server.toString() });
    try {
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
    } finally {
      await conn.end();
    }
  };
  beforeAll(async () => {
    await drop();
    await migrateDatabase(url);
  });
  afterAll(drop);
  return url;
}

/** Resolves to the MySQL error code the promise rejects with; fails the test if it resolves. */
export async function rejectionCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return mysqlErrorCode(error);
  }
  throw new Error('expected the query to fail, but it succeeded');
}
