/**
 * Naming of the per-worker test resources, shared by the global setup (which creates them) and the per-file setup
 * (which points each file at its worker's copy). No imports of app code: this runs before env.ts may be loaded.
 */

export const DEFAULT_DATABASE_URL = 'mysql://root@127.0.0.1:3306/fillpath';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Test resources are named per run (the vitest main process id) and per worker, so two runs on one machine (a
 * developer's and CI's, or two engineers') never drop each other's databases or flush each other's keys.
 */
export function testRunId(pid: number = process.pid): string {
  return pid.toString(36);
}

/** The database-name prefix of every test database made from `baseUrl`, e.g. `fillpath_t`. */
export function testDatabasePrefix(baseUrl: string): string {
  const base = new URL(baseUrl).pathname.replace(/^\//, '') || 'fillpath';
  return `${base}_t`;
}

/** `mysql://…/fillpath` → `mysql://…/fillpath_t<run>_<poolId>`. */
export function workerDatabaseUrl(baseUrl: string, runId: string, poolId: number): string {
  const url = new URL(baseUrl);
  url.pathname = `/${testDatabasePrefix(baseUrl)}${runId}_${poolId}`;
  return url.toString();
}

/** The Redis key prefix of one worker of one run; all of the app's keys start with it (REDIS_PREFIX). */
export function workerRedisPrefix(runId: string, poolId: number): string {
  return `fpt${runId}w${poolId}`;
}

/** Tables a clean slate keeps: seeded reference data and the migrator's bookkeeping. */
export const PRESERVED_TABLES = ['instruments', '__drizzle_migrations'];

declare module 'vitest' {
  export interface ProvidedContext {
    baseDatabaseUrl: string;
    baseRedisUrl: string;
    testRunId: string;
  }
}
