/**
 * The current worker's test database (set up by tests/setup), through the same pool factory the app uses, so tests
 * see exactly what production code sees (UTC sessions, big numbers and decimals as strings).
 */
import { afterAll } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../server/db/client.ts';
import { mysqlErrorCode } from '../../server/db/errors.ts';

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

/** Resolves to the MySQL error code the promise rejects with; fails the test if it resolves. */
export async function rejectionCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return mysqlErrorCode(error);
  }
  throw new Error('expected the query to fail, but it succeeded');
}
