/**
 * Rules that count rows must hold when two requests race (review S9, C3). The test holds row locks in its own
 * transaction until both requests are waiting inside the database, then lets them go together: without the service's
 * own locking both would act on the same stale count.
 */
import { and, count, eq, inArray, isNull } from 'drizzle-orm';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notificationChannels } from '../../drizzle/schema/notification_channels.ts';
import { users } from '../../drizzle/schema/users.ts';
import { MAX_CHANNELS_PER_USER } from '../../server/services/channels/view.ts';
import { startTestApp, type TestApp, waitFor } from '../helpers/app.ts';
import { apiClient, type SignedInUser, signUp } from '../helpers/client.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { rememberSecret } from '../helpers/secrets.ts';

const { db, pool } = useTestDatabase();
let server: TestApp;
beforeAll(async () => {
  server = await startTestApp();
});
afterAll(() => server.close());

/** Transactions of this database blocked on a lock right now. */
async function lockWaits(): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n FROM information_schema.innodb_trx t
       JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id
      WHERE t.trx_state = 'LOCK WAIT' AND p.db = DATABASE()`,
  );
  return Number(rows[0]?.n ?? 0);
}

/** Starts `calls` while `users` rows are locked, waits until `waiting` transactions block, then releases them. */
async function raceBehindLock<T>(userIds: number[], waiting: number, calls: Array<() => Promise<T>>) {
  const conn = await pool.getConnection();
  try {
    await conn.query('START TRANSACTION');
    await conn.query('SELECT id FROM users WHERE id IN (?) FOR UPDATE', [userIds]);
    const settled = Promise.allSettled(calls.map((call) => call()));
    // Every 150 ms: InnoDB refreshes its INNODB_TRX snapshot only when it was last read over 100 ms ago.
    await waitFor(async () => (await lockWaits()) >= waiting, 10_000, 150);
    await conn.query('COMMIT');
    return await settled;
  } finally {
    // A no-op after the commit; after a failure it lets the blocked requests go before the connection is reused.
    await conn.query('ROLLBACK');
    conn.release();
  }
}

const outcomeCodes = (outcomes: PromiseSettledResult<unknown>[]) =>
  outcomes
    .map((outcome) =>
      outcome.status === 'fulfilled' ? 'OK' : ((outcome.reason as { data?: { code?: string } }).data?.code ?? '?'),
    )
    .sort();

describe('the last administrator (S9)', () => {
  /** Two fresh administrators, and no others: the clean slate of this file's database holds nobody else. */
  async function twoAdmins(): Promise<[SignedInUser, SignedInUser]> {
    await db.update(users).set({ role: 'user' }).where(eq(users.role, 'admin'));
    const pair = await Promise.all([signUp(server.url, 'Admin'), signUp(server.url, 'Admin')]);
    await db
      .update(users)
      .set({ role: 'admin' })
      .where(
        inArray(
          users.id,
          pair.map((admin) => admin.id),
        ),
      );
    // Sign in again so the access tokens carry the role.
    const [first, second] = await Promise.all(
      pair.map(async (admin) => {
        const session = await apiClient(server.url).auth.login.mutate({ email: admin.email, password: admin.password });
        rememberSecret(session.accessToken, session.refreshToken);
        return { ...admin, ...session, client: apiClient(server.url, session.accessToken) };
      }),
    );
    if (!first || !second) throw new Error('expected two admins');
    return [first, second];
  }

  async function activeAdmins() {
    const rows = await db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.role, 'admin'), isNull(users.disabledAt), isNull(users.deletedAt)));
    return rows.length;
  }

  it('two admins demoting each other at once: one succeeds, the other is refused', async () => {
    const [alice, bob] = await twoAdmins();
    const outcomes = await raceBehindLock([alice.id, bob.id], 2, [
      () => alice.client.admin.users.setRole.mutate({ userId: bob.id, role: 'user' }),
      () => bob.client.admin.users.setRole.mutate({ userId: alice.id, role: 'user' }),
    ]);
    expect(outcomeCodes(outcomes)).toEqual(['OK', 'PRECONDITION_FAILED']);
    expect(await activeAdmins()).toBe(1);
  });

  it('two admins disabling each other at once: one succeeds, the other is refused', async () => {
    const [alice, bob] = await twoAdmins();
    const outcomes = await raceBehindLock([alice.id, bob.id], 2, [
      () => alice.client.admin.users.disable.mutate({ userId: bob.id, disabled: true }),
      () => bob.client.admin.users.disable.mutate({ userId: alice.id, disabled: true }),
    ]);
    expect(outcomeCodes(outcomes)).toEqual(['OK', 'PRECONDITION_FAILED']);
    expect(await activeAdmins()).toBe(1);
  });
});

describe('the notification channel cap (C3)', () => {
  it('two creates racing for the last free slot: one succeeds, the other is refused', async () => {
    const alice = await signUp(server.url);
    await db.insert(notificationChannels).values(
      Array.from({ length: MAX_CHANNELS_PER_USER - 1 }, (_, n) => ({
        userId: alice.id,
        kind: 'telegram' as const,
        name: `Existing ${n}`,
        targetEnc: 'not-read-by-this-test',
      })),
    );
    const botToken = '123456789:RaceRaceRaceRaceRaceRace';
    rememberSecret(botToken);
    const create = (name: string) => () =>
      alice.client.notifications.channels.create.mutate({
        name,
        target: { kind: 'telegram', botToken, chatId: '-1001234567890' },
      });

    const outcomes = await raceBehindLock([alice.id], 2, [create('Racer A'), create('Racer B')]);
    expect(outcomeCodes(outcomes)).toEqual(['OK', 'PRECONDITION_FAILED']);
    const [live] = await db
      .select({ n: count() })
      .from(notificationChannels)
      .where(and(eq(notificationChannels.userId, alice.id), isNull(notificationChannels.deletedAt)));
    expect(live?.n).toBe(MAX_CHANNELS_PER_USER);
  });
});
