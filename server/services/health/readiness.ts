/**
 * Readiness of a process: MySQL and Redis answer, migrations are applied, and the process is not draining.
 * Probes run in parallel with short timeouts so a dead dependency answers 503 quickly instead of hanging the probe.
 */
import { type DatabaseHandle, withTimeout } from '../../db/client.ts';
import { migrationsApplied } from '../../db/migrate.ts';
import type { Lifecycle } from '../../lib/lifecycle.ts';
import type { RedisClient } from '../../lib/redis-client.ts';

export interface HealthProbes {
  database: DatabaseHandle;
  redis: RedisClient;
  lifecycle: Lifecycle;
}

export interface ComponentHealth {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

export interface Readiness {
  ready: boolean;
  draining: boolean;
  components: { database: ComponentHealth; redis: ComponentHealth; migrations: ComponentHealth };
}

const PROBE_TIMEOUT_MS = 1_500;
// Once every migration is applied it stays applied for the life of the process, so the check runs until it passes.
const migrationsSeen = new WeakSet<DatabaseHandle>();

async function probe(check: () => Promise<unknown>): Promise<ComponentHealth> {
  const started = performance.now();
  try {
    const result = await check();
    const latencyMs = Math.round((performance.now() - started) * 10) / 10;
    if (result === false) return { ok: false, latencyMs, error: 'not ready' };
    return { ok: true, latencyMs };
  } catch (error) {
    const latencyMs = Math.round((performance.now() - started) * 10) / 10;
    return { ok: false, latencyMs, error: describe(error) };
  }
}

/** A short reason for operators: the error code or first line, never a stack, SQL text or credentials. */
function describe(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') return error.code;
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]?.slice(0, 120) ?? 'unknown error';
}

export async function checkReadiness(probes: HealthProbes): Promise<Readiness> {
  const { database, redis } = probes;
  const [db, cache, migrations] = await Promise.all([
    probe(() => database.ping(PROBE_TIMEOUT_MS)),
    probe(() => withTimeout(redis.ping(), PROBE_TIMEOUT_MS, 'redis ping')),
    probe(async () => {
      if (migrationsSeen.has(database)) return true;
      const applied = await withTimeout(migrationsApplied(database.pool), PROBE_TIMEOUT_MS, 'migration check');
      if (applied) migrationsSeen.add(database);
      return applied;
    }),
  ]);
  const draining = probes.lifecycle.draining;
  return {
    ready: db.ok && cache.ok && migrations.ok && !draining,
    draining,
    components: { database: db, redis: cache, migrations },
  };
}
