/**
 * What the keys of the schema promise a user: a deleted name can be reused but two live ones cannot coexist,
 * trading history blocks a user's hard delete while personal ephemera go with them, and JSON and decimal values
 * come back exactly as written.
 */
import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/mysql2';
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import {
  benchmarks,
  brokerConnections,
  deadLetters,
  instruments,
  notificationChannels,
  notifications,
  routingRules,
  sessions,
  strategies,
  trades,
  users,
  webhookLogs,
} from '../../drizzle/schema/index.ts';
import { notDeleted, softDeleteSet } from '../../server/db/soft-delete.ts';
import { rejectionCode, testDatabaseUrl, useTestDatabase } from '../helpers/db.ts';

const { db } = useTestDatabase();
let seq = 0;

async function makeUser(email = `u${++seq}-${Date.now()}@example.com`): Promise<number> {
  const [row] = await db.insert(users).values({ email, passwordHash: 'argon2id$x', name: 'Trader' }).$returningId();
  if (!row) throw new Error('insert returned no id');
  return row.id;
}

async function makeStrategy(userId: number, name = `S${++seq}`): Promise<number> {
  const hash = randomBytes(32).toString('hex');
  const [row] = await db
    .insert(strategies)
    .values({ userId, name, webhookTokenHash: hash, webhookTokenEnc: 'v1:k:iv:tag:ct' })
    .$returningId();
  if (!row) throw new Error('insert returned no id');
  return row.id;
}

async function makeConnection(userId: number, name = `C${++seq}`): Promise<number> {
  const [row] = await db
    .insert(brokerConnections)
    .values({ userId, broker: 'alpaca', name, credentialsEnc: 'v1:k:iv:tag:ct' })
    .$returningId();
  if (!row) throw new Error('insert returned no id');
  return row.id;
}

describe('soft-deleted rows free their unique names', () => {
  // Each case inserts a row with the same natural key every time it is called, and soft-deletes a row by id.
  const cases: [string, () => Promise<{ insert: () => Promise<number>; remove: (id: number) => Promise<unknown> }>][] =
    [
      [
        'users (email)',
        async () => {
          const email = `same-${Date.now()}@example.com`;
          return {
            insert: () => makeUser(email),
            remove: (id) => db.update(users).set(softDeleteSet(null)).where(eq(users.id, id)),
          };
        },
      ],
      [
        'strategies (user_id, name)',
        async () => {
          const userId = await makeUser();
          return {
            insert: () => makeStrategy(userId, 'Trend'),
            remove: (id) => db.update(strategies).set(softDeleteSet(userId)).where(eq(strategies.id, id)),
          };
        },
      ],
      [
        'broker_connections (user_id, name)',
        async () => {
          const userId = await makeUser();
          return {
            insert: () => makeConnection(userId, 'Paper'),
            remove: (id) => db.update(brokerConnections).set(softDeleteSet(userId)).where(eq(brokerConnections.id, id)),
          };
        },
      ],
      [
        'routing_rules (strategy_id, broker_connection_id)',
        async () => {
          const userId = await makeUser();
          const strategyId = await makeStrategy(userId);
          const brokerConnectionId = await makeConnection(userId);
          return {
            insert: async () => {
              const [row] = await db
                .insert(routingRules)
                .values({ userId, strategyId, brokerConnectionId })
                .$returningId();
              return row?.id ?? 0;
            },
            remove: (id) => db.update(routingRules).set(softDeleteSet(userId)).where(eq(routingRules.id, id)),
          };
        },
      ],
    ];

  it.each(cases)('%s', async (_name, setup) => {
    const { insert, remove } = await setup();
    const first = await insert();
    expect(await rejectionCode(insert())).toBe('ER_DUP_ENTRY');

    await remove(first);
    const second = await insert();
    expect(second).toBeGreaterThan(first);
    // The name is taken again by the new live row…
    expect(await rejectionCode(insert())).toBe('ER_DUP_ENTRY');
    // …and several deleted rows with the same name may pile up.
    await remove(second);
    expect(await insert()).toBeGreaterThan(second);
  });

  it('notDeleted() hides soft-deleted rows from reads', async () => {
    const userId = await makeUser();
    const keep = await makeStrategy(userId, 'Keep');
    const gone = await makeStrategy(userId, 'Gone');
    await db.update(strategies).set(softDeleteSet(userId)).where(eq(strategies.id, gone));
    const visible = await db
      .select({ id: strategies.id })
      .from(strategies)
      .where(and(eq(strategies.userId, userId), notDeleted(strategies)));
    expect(visible).toEqual([{ id: keep }]);
  });
});

describe('hard deletes of a user', () => {
  it('are refused while the user owns trading history (a strategy)', async () => {
    const userId = await makeUser();
    await makeStrategy(userId);
    expect(await rejectionCode(db.delete(users).where(eq(users.id, userId)))).toMatch(/^ER_ROW_IS_REFERENCED/);
    expect(await db.select({ id: users.id }).from(users).where(eq(users.id, userId))).toHaveLength(1);
  });

  it('are refused while the user owns a broker connection', async () => {
    const userId = await makeUser();
    await makeConnection(userId);
    expect(await rejectionCode(db.delete(users).where(eq(users.id, userId)))).toMatch(/^ER_ROW_IS_REFERENCED/);
  });

  it('cascade to sessions, notifications and channels, and detach dead letters', async () => {
    const userId = await makeUser();
    const other = await makeUser();
    const expiresAt = new Date(Date.now() + 60_000);
    await db.insert(sessions).values([
      { userId, familyId: 'f1', refreshTokenHash: randomBytes(32).toString('hex'), expiresAt },
      { userId: other, familyId: 'f2', refreshTokenHash: randomBytes(32).toString('hex'), expiresAt },
    ]);
    await db.insert(notifications).values({ userId, type: 'order.filled', title: 'Filled', message: 'ES 1 @ 5000' });
    await db.insert(notificationChannels).values({ userId, kind: 'discord', name: 'Desk', targetEnc: 'v1:k:x' });
    const [dead] = await db
      .insert(deadLetters)
      .values({ queue: 'notify', jobName: 'deliver', userId, payload: { notificationId: 1 }, error: 'timeout' })
      .$returningId();

    await db.delete(users).where(eq(users.id, userId));

    expect(await db.select().from(sessions).where(eq(sessions.userId, userId))).toEqual([]);
    expect(await db.select().from(notifications).where(eq(notifications.userId, userId))).toEqual([]);
    expect(await db.select().from(notificationChannels).where(eq(notificationChannels.userId, userId))).toEqual([]);
    expect(await db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, other))).toHaveLength(1);
    const [letter] = await db
      .select()
      .from(deadLetters)
      .where(eq(deadLetters.id, dead?.id ?? 0));
    expect(letter?.userId).toBeNull();
  });
});

it('deleting a (derived) trade keeps the webhook log and clears its pointer', async () => {
  const userId = await makeUser();
  const strategyId = await makeStrategy(userId);
  const brokerConnectionId = await makeConnection(userId);
  const [trade] = await db
    .insert(trades)
    .values({
      userId,
      strategyId,
      brokerConnectionId,
      symbol: 'MESZ5',
      side: 'long',
      quantity: '1',
      entryPrice: '5000.25',
      entryDate: new Date(),
    })
    .$returningId();
  const [log] = await db
    .insert(webhookLogs)
    .values({ strategyId, tradeId: trade?.id, receivedAt: new Date(), rawBody: '{"action":"buy"}' })
    .$returningId();

  await db.delete(trades).where(eq(trades.id, trade?.id ?? 0));
  const [after] = await db
    .select()
    .from(webhookLogs)
    .where(eq(webhookLogs.id, log?.id ?? 0));
  expect(after?.tradeId).toBeNull();
});

describe('values round-trip exactly', () => {
  const data = {
    nested: { list: [1, 'two', null, { deep: true }] },
    text: 'é ✓ "quoted"',
    big: '12345678901234567890',
  };

  it('a JSON column returns the object, whether or not the driver pre-parses JSON', async () => {
    const userId = await makeUser();
    const [row] = await db
      .insert(notifications)
      .values({ userId, type: 't', title: 't', message: 'm', data })
      .$returningId();
    const [read] = await db
      .select()
      .from(notifications)
      .where(eq(notifications.id, row?.id ?? 0));
    expect(read?.data).toEqual(data);

    // With jsonStrings the driver hands back text; the column type must parse it.
    const conn = await mysql.createConnection({ uri: testDatabaseUrl(), jsonStrings: true });
    try {
      const [again] = await drizzle({ client: conn })
        .select({ data: notifications.data })
        .from(notifications)
        .where(eq(notifications.id, row?.id ?? 0));
      expect(again?.data).toEqual(data);
    } finally {
      await conn.end();
    }
  });

  it.each(['12345678901.12345678', '-12345678901.12345678', '999999999999.99999999', '0.00000001'])(
    'decimal(20,8) %s comes back as the same string',
    async (close) => {
      const symbol = `T${++seq}`;
      await db.insert(benchmarks).values({ symbol, date: '2025-01-02', close });
      const [read] = await db.select().from(benchmarks).where(eq(benchmarks.symbol, symbol));
      expect(read?.close).toBe(close);
      expect(read?.date).toBe('2025-01-02');
    },
  );
});

it('instruments are seeded with the common futures', async () => {
  const seeded = await db
    .select({ root: instruments.root, multiplier: instruments.multiplier, tick: instruments.tickSize })
    .from(instruments);
  const byRoot = Object.fromEntries(seeded.map((r) => [r.root, [r.multiplier, r.tick]]));
  expect(byRoot).toMatchObject({
    ES: ['50.00000000', '0.25000000'],
    MES: ['5.00000000', '0.25000000'],
    NQ: ['20.00000000', '0.25000000'],
    MNQ: ['2.00000000', '0.25000000'],
    YM: ['5.00000000', '1.00000000'],
    MYM: ['0.50000000', '1.00000000'],
    RTY: ['50.00000000', '0.10000000'],
    CL: ['1000.00000000', '0.01000000'],
    GC: ['100.00000000', '0.10000000'],
  });
});
