/**
 * Applies the drizzle-kit migrations in drizzle/migrations. drizzle's `migrate()` has no guard against concurrent
 * runs (drizzle-orm #874), so every run holds a MySQL named lock on one dedicated connection and the migrator runs
 * on that same connection: a second process waits for the first, then finds nothing pending.
 */
import { readFileSync } from 'node:fs';
import { drizzle } from 'drizzle-orm/mysql2';
import { migrate } from 'drizzle-orm/mysql2/migrator';
import mysql, { type Connection, type Pool, type PoolConnection, type RowDataPacket } from 'mysql2/promise';
import { projectPath } from '../lib/paths.ts';

const MIGRATIONS_FOLDER = projectPath('drizzle', 'migrations');
const MIGRATIONS_TABLE = '__drizzle_migrations';
const DEFAULT_LOCK_TIMEOUT_S = 60;

type Queryable = Pool | PoolConnection | Connection;

export class MigrationLockTimeoutError extends Error {
  constructor(lockName: string, timeoutS: number) {
    super(`could not obtain migration lock "${lockName}" within ${timeoutS} s: another migration is still running`);
    this.name = 'MigrationLockTimeoutError';
  }
}

/** The database name of a mysql:// URL; only plain identifiers, since it is spliced into DDL. */
export function databaseNameOf(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(name)) {
    throw new Error(`DATABASE_URL must name a database of letters, digits, _ or $ (got "${name}")`);
  }
  return name;
}

/**
 * Creates the database if missing, then applies pending migrations under `GET_LOCK`. Safe to run repeatedly and
 * from several processes at once. Returns how many migrations this call applied.
 */
export async function migrateDatabase(
  databaseUrl: string,
  log: (msg: string) => void = () => {},
  options: { lockTimeoutS?: number } = {},
): Promise<{ applied: number }> {
  const lockTimeoutS = options.lockTimeoutS ?? DEFAULT_LOCK_TIMEOUT_S;
  const database = databaseNameOf(databaseUrl);
  const serverUrl = new URL(databaseUrl);
  serverUrl.pathname = '/';
  const conn = await mysql.createConnection({ uri: serverUrl.toString(), timezone: 'Z', supportBigNumbers: true });
  try {
    // drizzle maps datetime text as UTC; CURRENT_TIMESTAMP defaults written during migrations must agree.
    await conn.query("SET time_zone = '+00:00'");
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await conn.query(`USE \`${database}\``);

    // Named locks are server-wide, so the name carries the database: migrating one database never waits for another.
    const lockName = `fillpath:migrate:${database}`.slice(0, 64);
    const [lockRows] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [lockName, lockTimeoutS]);
    if (lockRows[0]?.got !== 1) throw new MigrationLockTimeoutError(lockName, lockTimeoutS);
    try {
      const before = await appliedCount(conn);
      await migrate(drizzle({ client: conn }), {
        migrationsFolder: MIGRATIONS_FOLDER,
        migrationsTable: MIGRATIONS_TABLE,
      });
      const applied = (await appliedCount(conn)) - before;
      log(
        applied === 0
          ? `database ${database} is up to date`
          : `applied ${applied} migration${applied === 1 ? '' : 's'} to ${database}`,
      );
      return { applied };
    } finally {
      // A failed release must not mask the migration's own error; the lock dies with the connection anyway.
      await conn.query('SELECT RELEASE_LOCK(?)', [lockName]).catch(() => undefined);
    }
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

type JournalEntry = { tag: string; when: number };
let journalCache: JournalEntry[] | undefined;

/** The migrations this build ships, from drizzle-kit's journal (read once). */
export function journalEntries(): JournalEntry[] {
  journalCache ??= (
    JSON.parse(readFileSync(`${MIGRATIONS_FOLDER}/meta/_journal.json`, 'utf8')) as { entries: JournalEntry[] }
  ).entries;
  return journalCache;
}

/**
 * How many shipped migrations the connected database has not applied yet. Uses the migrator's own rule (a
 * migration is pending when its journal timestamp is newer than the last applied one), so it agrees with what
 * `migrateDatabase` would do. A database without the migrations table has everything pending.
 */
export async function pendingMigrationCount(db: Queryable): Promise<number> {
  const [tables] = await db.query<RowDataPacket[]>(
    'SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?',
    [MIGRATIONS_TABLE],
  );
  const entries = journalEntries();
  if (tables.length === 0) return entries.length;
  const [rows] = await db.query<RowDataPacket[]>(`SELECT MAX(created_at) AS last FROM \`${MIGRATIONS_TABLE}\``);
  const last = rows[0]?.last == null ? -1 : Number(rows[0].last);
  return entries.filter((e) => e.when > last).length;
}

/** For readiness: true when every shipped migration has been applied to the connected database. */
export async function migrationsApplied(db: Queryable): Promise<boolean> {
  return (await pendingMigrationCount(db)) === 0;
}

async function appliedCount(conn: Connection): Promise<number> {
  const [tables] = await conn.query<RowDataPacket[]>(
    'SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?',
    [MIGRATIONS_TABLE],
  );
  if (tables.length === 0) return 0;
  const [rows] = await conn.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${MIGRATIONS_TABLE}\``);
  return Number(rows[0]?.n ?? 0);
}
