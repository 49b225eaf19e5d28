/**
 * The migrator against a scratch database of this worker: idempotent, serialized by GET_LOCK across connections
 * and processes, clear when the lock is held elsewhere, and in agreement with the readiness check.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import mysql, { type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  journalEntries,
  MigrationLockTimeoutError,
  migrateDatabase,
  migrationsApplied,
  pendingMigrationCount,
} from '../../server/db/migrate.ts';
import { testDatabaseUrl } from '../helpers/db.ts';

const run = promisify(execFile);
const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

const scratchUrl = new URL(testDatabaseUrl());
const scratchName = `${scratchUrl.pathname.slice(1)}_mig`;
scratchUrl.pathname = `/${scratchName}`;
const url = scratchUrl.toString();
const lockName = `fillpath:migrate:${scratchName}`;
const shipped = journalEntries().length;

const serverUrl = new URL(url);
serverUrl.pathname = '/';
const admin = await mysql.createConnection({ uri: serverUrl.toString() });

async function one<T>(sql: string, params: unknown[] = []): Promise<T | undefined> {
  const [rows] = await admin.query<RowDataPacket[]>(sql, params);
  return rows[0] as T | undefined;
}

beforeEach(async () => {
  await admin.query(`DROP DATABASE IF EXISTS \`${scratchName}\``);
});
afterAll(async () => {
  await admin.query(`DROP DATABASE IF EXISTS \`${scratchName}\``);
  await admin.end();
});

describe('migrateDatabase', () => {
  it('creates a missing database (utf8mb4_unicode_ci), applies everything once, then nothing', async () => {
    const lines: string[] = [];
    expect(await migrateDatabase(url, (m) => lines.push(m))).toEqual({ applied: shipped });
    expect(await migrateDatabase(url, (m) => lines.push(m))).toEqual({ applied: 0 });
    expect(lines).toEqual([`applied ${shipped} migrations to ${scratchName}`, `database ${scratchName} is up to date`]);

    const schema = await one<{ collation: string }>(
      'SELECT default_collation_name AS collation FROM information_schema.schemata WHERE schema_name = ?',
      [scratchName],
    );
    expect(schema?.collation).toBe('utf8mb4_unicode_ci');
    const recorded = await one<{ n: number }>(`SELECT COUNT(*) AS n FROM \`${scratchName}\`.__drizzle_migrations`);
    expect(Number(recorded?.n)).toBe(shipped);
    // The lock is released after each run.
    expect((await one<{ free: number }>('SELECT IS_FREE_LOCK(?) AS free', [lockName]))?.free).toBe(1);
  });

  it('serializes two concurrent runs: both succeed and the migrations are applied once', async () => {
    const results = await Promise.all([migrateDatabase(url), migrateDatabase(url)]);
    expect(results.map((r) => r.applied).sort()).toEqual([0, shipped]);
    const recorded = await one<{ n: number }>(`SELECT COUNT(*) AS n FROM \`${scratchName}\`.__drizzle_migrations`);
    expect(Number(recorded?.n)).toBe(shipped);
  });

  it('serializes two db:migrate script processes started at once', async () => {
    const child = () =>
      run(process.execPath, ['scripts/migrate.ts'], {
        cwd: projectRoot,
        env: { ...process.env, DATABASE_URL: url, NODE_ENV: 'test' },
      });
    const outputs = (await Promise.all([child(), child()])).map((r) => r.stdout.trim()).sort();
    expect(outputs).toEqual([
      `db:migrate: applied ${shipped} migrations to ${scratchName}`,
      `db:migrate: database ${scratchName} is up to date`,
    ]);
  });

  it('fails with a clear error when another migration holds the lock past the timeout', async () => {
    await migrateDatabase(url);
    const holder = await mysql.createConnection({ uri: serverUrl.toString() });
    try {
      await holder.query('SELECT GET_LOCK(?, 0)', [lockName]);
      const attempt = migrateDatabase(url, undefined, { lockTimeoutS: 1 });
      await expect(attempt).rejects.toBeInstanceOf(MigrationLockTimeoutError);
      await expect(attempt).rejects.toThrow(/could not obtain migration lock .* within 1 s/);
    } finally {
      await holder.end();
    }
    // The holder's disconnect frees the lock; the next run proceeds.
    expect(await migrateDatabase(url)).toEqual({ applied: 0 });
  });

  it('the script exits 1 with one clear line when the server is unreachable', async () => {
    const failed = await run(process.execPath, ['scripts/migrate.ts'], {
      cwd: projectRoot,
      env: { ...process.env, DATABASE_URL: 'mysql://root@127.0.0.1:1/nowhere', NODE_ENV: 'test' },
    }).catch((error: { code: number; stderr: string }) => error);
    expect('code' in failed && failed.code).toBe(1);
    expect('stderr' in failed && failed.stderr.trim()).toMatch(/^db:migrate failed: .*ECONNREFUSED/);
  });
});

describe('pendingMigrationCount / migrationsApplied (readiness)', () => {
  it('report everything pending on an empty database and nothing after migrating', async () => {
    await admin.query(`CREATE DATABASE \`${scratchName}\``);
    const pool = mysql.createPool({ uri: url, connectionLimit: 1 });
    try {
      expect(await pendingMigrationCount(pool)).toBe(shipped);
      expect(await migrationsApplied(pool)).toBe(false);
      await migrateDatabase(url);
      expect(await pendingMigrationCount(pool)).toBe(0);
      expect(await migrationsApplied(pool)).toBe(true);
    } finally {
      await pool.end();
    }
  });
});
