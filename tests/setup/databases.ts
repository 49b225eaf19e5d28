/**
 * Naming of the per-worker test resources, shared by the global setup (which creates them) and the per-file setup
 * (which points each file at its worker's copy). No imports of app code: this runs before env.ts may be loaded.
 */

export const DEFAULT_DATABASE_URL = 'mysql://root@127.0.0.1:3306/fillpath';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** `mysql://…/fillpath` → `mysql://…/fillpath_test_<poolId>` (the base name is kept so shared servers stay tidy). */
export function workerDatabaseUrl(baseUrl: string, poolId: number): string {
  const url = new URL(baseUrl);
  const base = url.pathname.replace(/^\//, '') || 'fillpath';
  url.pathname = `/${base}_test_${poolId}`;
  return url.toString();
}

/** Each worker gets its own Redis logical database, so FLUSHDB in one never touches another (or DB 0 of dev). */
export function workerRedisUrl(baseUrl: string, poolId: number): string {
  const url = new URL(baseUrl);
  url.pathname = `/${poolId}`;
  return url.toString();
}

/** Tables a clean slate keeps: seeded reference data and the migrator's bookkeeping. */
export const PRESERVED_TABLES = ['instruments', '__drizzle_migrations'];

declare module 'vitest' {
  export interface ProvidedContext {
    baseDatabaseUrl: string;
    baseRedisUrl: string;
  }
}
