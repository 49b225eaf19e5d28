/**
 * Runs once per `vitest run`: one fresh, migrated database per worker (fillpath_test_1 … _<maxWorkers>), so test
 * files in different workers never see each other's rows. Test infrastructure may read process.env directly.
 */
import mysql from 'mysql2/promise';
import type { TestProject } from 'vitest/node';
import { migrateDatabase } from '../../server/db/migrate.ts';
import { DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, workerDatabaseUrl } from './databases.ts';

export default async function setup(project: TestProject): Promise<void> {
  const baseDatabaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const baseRedisUrl = process.env.REDIS_URL || DEFAULT_REDIS_URL;
  project.provide('baseDatabaseUrl', baseDatabaseUrl);
  project.provide('baseRedisUrl', baseRedisUrl);

  const workers = Math.max(1, project.config.maxWorkers || 1);
  const serverUrl = new URL(baseDatabaseUrl);
  serverUrl.pathname = '/';
  const conn = await mysql.createConnection({ uri: serverUrl.toString() });
  try {
    const urls = Array.from({ length: workers }, (_, i) => workerDatabaseUrl(baseDatabaseUrl, i + 1));
    for (const url of urls) {
      await conn.query(`DROP DATABASE IF EXISTS \`${new URL(url).pathname.slice(1)}\``);
    }
    // Each database has its own migration lock, so the workers' databases migrate in parallel.
    await Promise.all(urls.map((url) => migrateDatabase(url)));
  } catch (error) {
    throw new Error(
      `test database setup failed against ${serverUrl.host}: ${error instanceof Error ? error.message : error}`,
    );
  } finally {
    await conn.end();
  }
}
