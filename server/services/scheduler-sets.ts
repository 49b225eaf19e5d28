/**
 * Per-connection job schedulers kept equal to what the database wants (reconciliation runs, session upkeep): the
 * periodic step of each removes the schedulers no longer wanted, moves those whose interval changed and adds the
 * missing ones. The job layer's scheduler operations are injected (services never import server/jobs).
 */
export interface SchedulerSet {
  /** Creates the connection's scheduler at `everyMs`, or moves it there (keeping its next run when unchanged). */
  upsert(connectionId: number, everyMs: number): Promise<void>;
  remove(connectionId: number): Promise<void>;
  /** The connections that have a scheduler now, with its interval. */
  list(): Promise<Array<{ connectionId: number; everyMs: number | null }>>;
}

export interface SyncCounts {
  added: number;
  updated: number;
  removed: number;
}

/** Makes the set's schedulers exactly `wanted` (connection id → interval in ms). */
export async function syncSchedulerSet(set: SchedulerSet, wanted: Map<number, number>): Promise<SyncCounts> {
  const existing = await set.list();
  const have = new Set(existing.map((entry) => entry.connectionId));
  const counts: SyncCounts = { added: 0, updated: 0, removed: 0 };
  for (const entry of existing) {
    const everyMs = wanted.get(entry.connectionId);
    if (everyMs === undefined) {
      await set.remove(entry.connectionId);
      counts.removed++;
    } else if (entry.everyMs !== everyMs) {
      await set.upsert(entry.connectionId, everyMs);
      counts.updated++;
    }
  }
  for (const [connectionId, everyMs] of wanted) {
    if (have.has(connectionId)) continue;
    await set.upsert(connectionId, everyMs);
    counts.added++;
  }
  return counts;
}
