/** Whose failed job it was: the owner resolver per queue, from the ids in the job's payload. */
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { strategies } from '../../../drizzle/schema/strategies.ts';
import { deadLetterOwner } from '../../../server/services/dead-letters/owner.ts';
import { useTestDatabase } from '../../helpers/db.ts';
import { insertOwnedRows, type OwnedRows } from './fixtures.ts';

const { db } = useTestDatabase();
let mine: OwnedRows;
let theirs: OwnedRows;
beforeAll(async () => {
  mine = await insertOwnedRows(db);
  theirs = await insertOwnedRows(db);
});

describe('deadLetterOwner', () => {
  it('finds the owner of every user job from the row its payload names', async () => {
    const cases: [string, Record<string, unknown>, number][] = [
      ['orders', { orderId: mine.orderId }, mine.userId],
      ['order-status', { orderId: theirs.orderId }, theirs.userId],
      ['signals', { webhookLogId: mine.webhookLogId }, mine.userId],
      ['reconcile', { connectionId: theirs.connectionId }, theirs.userId],
      ['sessions', { connectionId: mine.connectionId }, mine.userId],
      ['notify', { notificationId: theirs.notificationId, channelId: 1 }, theirs.userId],
    ];
    for (const [queue, payload, owner] of cases) {
      expect([queue, await deadLetterOwner(db, queue, payload)]).toEqual([queue, owner]);
    }
  });

  it('still finds the owner through a soft-deleted strategy', async () => {
    const rows = await insertOwnedRows(db);
    await db.update(strategies).set({ deletedAt: new Date() }).where(eq(strategies.id, rows.strategyId));
    expect(await deadLetterOwner(db, 'signals', { webhookLogId: rows.webhookLogId })).toBe(rows.userId);
  });

  it('answers null for system queues, missing rows and payloads without a usable id', async () => {
    const cases: [string, Record<string, unknown>][] = [
      ['maintenance', {}],
      ['dead-letters', { queue: 'orders', jobId: 'x' }],
      ['no-such-queue', { orderId: mine.orderId }],
      ['orders', { orderId: 999_999_999 }],
      ['orders', {}],
      ['orders', { orderId: String(mine.orderId) }],
      ['orders', { orderId: -1 }],
      ['signals', { orderId: mine.orderId }],
      ['reconcile', { connectionId: 1.5 }],
      ['notify', { notificationId: null }],
    ];
    for (const [queue, payload] of cases) {
      expect([queue, payload, await deadLetterOwner(db, queue, payload)]).toEqual([queue, payload, null]);
    }
  });
});
