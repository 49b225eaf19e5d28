/**
 * Every live api and worker process, as health.details shows it. Each process publishes a small snapshot of itself
 * (instance-publisher.ts) into one Redis hash, `<prefix>:{instances}`, a field per process whose value carries its
 * own `expiresAt`: one key, so it lives in one slot of a Redis Cluster and is read without KEYS or SCAN. A process
 * that stopped cleanly removed its field; one that died leaves a field that readers skip once it expired and delete.
 */

import { z } from 'zod';
import { type InstanceHealth, instanceHealth } from '#shared/schemas/health.ts';
import { env } from '../../lib/env.ts';
import type { RedisClient } from '../../lib/redis-client.ts';

export function instancesKey(): string {
  return `${env.REDIS_PREFIX}:{instances}`;
}

/** What a process writes into its field: timestamps in epoch milliseconds, checked again by every reader. */
export const storedInstance = instanceHealth.omit({ startedAt: true, snapshotAgeMs: true }).extend({
  startedAt: z.number(),
  publishedAt: z.number(),
  expiresAt: z.number(),
});
export type StoredInstance = z.infer<typeof storedInstance>;

// Deletes a field only while it still holds what the reader saw expire: a slow process that has just published
// again keeps its fresh snapshot.
const FORGET_IF_UNCHANGED = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0`;

const ROLE_ORDER = { api: 0, worker: 1 } as const;

/**
 * The live processes, sorted by role then id. Expired fields (their process died) and unreadable ones are deleted;
 * a field of another version that does not match today's shape is skipped until it expires.
 */
export async function readInstances(redis: RedisClient, now = Date.now()): Promise<InstanceHealth[]> {
  const key = instancesKey();
  const fields = await redis.hgetall(key);
  const live: InstanceHealth[] = [];
  const gone: Array<[string, string]> = [];
  for (const [field, value] of Object.entries(fields)) {
    const raw = parseJson(value);
    const expiresAt = raw && typeof raw === 'object' && 'expiresAt' in raw ? raw.expiresAt : undefined;
    if (raw === undefined || (typeof expiresAt === 'number' && expiresAt <= now)) {
      gone.push([field, value]);
      continue;
    }
    const parsed = storedInstance.safeParse(raw);
    if (!parsed.success) continue;
    const { publishedAt, expiresAt: _expiresAt, startedAt, ...snapshot } = parsed.data;
    live.push({ ...snapshot, startedAt: new Date(startedAt), snapshotAgeMs: Math.max(0, now - publishedAt) });
  }
  // Cleaning up is a courtesy: the answer stands whether or not it succeeds.
  await Promise.all(gone.map(([field, value]) => redis.eval(FORGET_IF_UNCHANGED, 1, key, field, value))).catch(
    () => undefined,
  );
  return live.sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || a.id.localeCompare(b.id));
}

function parseJson(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}
