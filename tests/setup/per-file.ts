/**
 * Runs in the worker before each test file (and before the file's imports, so server/lib/env.ts sees these
 * values): point the file at its worker's database and Redis DB, then give it a clean slate.
 */

import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { inject } from 'vitest';
import { PRESERVED_TABLES, workerDatabaseUrl, workerRedisUrl } from './databases.ts';

const poolId = Number(process.env.VITEST_POOL_ID ?? '1') || 1;
process.env.DATABASE_URL = workerDatabaseUrl(inject('baseDatabaseUrl'), poolId);
process.env.REDIS_URL = workerRedisUrl(inject('baseRedisUrl'), poolId);
process.env.NODE_ENV = 'test';
process.env.LOG_LEVEL ??= 'silent';

await emptyDatabase(process.env.DATABASE_URL);
await flushRedis(process.env.REDIS_URL);

/**
 * Empties every table but the preserved ones. DELETE with foreign-key checks off, in one round trip: measured at
 * ~7–15 ms for the whole schema against ~70–80 ms for TRUNCATE (which recreates each table).
 */
async function emptyDatabase(url: string): Promise<void> {
  const conn = await mysql.createConnection({ uri: url, multipleStatements: true });
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>(
      `SELECT table_name AS name FROM information_schema.tables
        WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' AND table_name NOT IN (?)`,
      [PRESERVED_TABLES],
    );
    if (rows.length === 0) return;
    const deletes = rows.map((r) => `DELETE FROM \`${String(r.name)}\`;`).join(' ');
    await conn.query(`SET FOREIGN_KEY_CHECKS = 0; ${deletes} SET FOREIGN_KEY_CHECKS = 1;`);
  } finally {
    await conn.end();
  }
}

async function flushRedis(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  try {
    await redis.connect();
    await redis.flushdb();
  } finally {
    redis.disconnect();
  }
}
