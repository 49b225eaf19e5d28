/**
 * Reconciliation runs past RECONCILE_RUNS_RETENTION_DAYS are deleted oldest first, in bounded batches, and the walk
 * stops at the first recent run; recent runs and their connection stay.
 */
import { randomUUID } from 'node:crypto';
import { asc } from 'drizzle-orm';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { brokerConnections } from '../../drizzle/schema/broker_connections.ts';
import { reconciliationRuns } from '../../drizzle/schema/reconciliation_runs.ts';
import { users } from '../../drizzle/schema/users.ts';
import { logger } from '../../server/lib/logger.ts';
import { purgeReconciliationRuns } from '../../server/services/maintenance/purge-reconciliation-runs.ts';
import { useTestDatabase } from '../helpers/db.ts';

const { db } = useTestDatabase();
const ctx = { db, log: logger, requestId: 'maintenance-runs-test', actor: { type: 'system' as const } };
const DAY = 24 * 3600 * 1000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY);

let connectionId = 0;
beforeAll(async () => {
  const [user] = await db
    .insert(users)
    .values({ email: `${randomUUID()}@example.com`, passwordHash: 'x', name: 'Runs' })
    .$returningId();
  const [connection] = await db
    .insert(brokerConnections)
    .values({ userId: user?.id ?? 0, broker: 'alpaca', name: 'Paper', credentialsEnc: 'sealed' })
    .$returningId();
  connectionId = connection?.id ?? 0;
});
beforeEach(async () => {
  await db.delete(reconciliationRuns);
});

/** One finished run per age (days), oldest first as reconciliation writes them; returns their ids. */
async function seedRuns(...ages: number[]): Promise<number[]> {
  const ids: number[] = [];
  for (const age of ages) {
    const [row] = await db
      .insert(reconciliationRuns)
      .values({ brokerConnectionId: connectionId, startedAt: daysAgo(age), finishedAt: daysAgo(age), status: 'ok' })
      .$returningId();
    ids.push(row?.id ?? 0);
  }
  return ids;
}

const runIds = async () =>
  (await db.select({ id: reconciliationRuns.id }).from(reconciliationRuns).orderBy(asc(reconciliationRuns.id))).map(
    (row) => row.id,
  );

describe('purgeReconciliationRuns', () => {
  it('deletes the runs older than the retention in batches and keeps the recent ones', async () => {
    const ids = await seedRuns(45, 40, 35, 31, 29, 2, 0);
    const options = { retentionDays: 30, batchSize: 3, pauseMs: 0 };
    // 4 old runs in batches of 3: a full batch, then one old run followed by a recent one (the walk stops there).
    expect(await purgeReconciliationRuns(ctx, options)).toEqual({ changed: 4, batches: 2, finished: true });
    expect(await runIds()).toEqual(ids.slice(4));
    expect(await purgeReconciliationRuns(ctx, options)).toEqual({ changed: 0, batches: 1, finished: true });
    expect(await runIds()).toEqual(ids.slice(4));
  });

  it('stops after one batch when its time budget is spent, and the next run carries on', async () => {
    const ids = await seedRuns(50, 49, 48, 1);
    const once = { retentionDays: 30, batchSize: 2, budgetMs: 0, pauseMs: 0 };
    expect(await purgeReconciliationRuns(ctx, once)).toEqual({ changed: 2, batches: 1, finished: false });
    expect(await purgeReconciliationRuns(ctx, once)).toEqual({ changed: 1, batches: 1, finished: true });
    expect(await runIds()).toEqual(ids.slice(3));
  });

  it('does nothing on an empty table', async () => {
    expect(await purgeReconciliationRuns(ctx, { retentionDays: 30 })).toEqual({
      changed: 0,
      batches: 1,
      finished: true,
    });
  });
});
