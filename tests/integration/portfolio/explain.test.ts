/**
 * Every read the portfolio services build, EXPLAINed on books big enough for the optimizer to care (a few thousand
 * trades over a dozen users, statistics refreshed): each table it touches is reached through an index, never by a full
 * scan, and the figures over a user's closed trades never leave the covering index.
 */
import { randomUUID } from 'node:crypto';
import { type SQL, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  benchmarks,
  brokerConnections,
  brokerOrders,
  fills,
  openPositions,
  routingRules,
  trades,
  users,
} from '../../../drizzle/schema/index.ts';
import { closeOnOrBeforeQuery, firstCloseFromQuery } from '../../../server/services/portfolio/benchmark.ts';
import { equityCurveQuery } from '../../../server/services/portfolio/equity-curve.ts';
import { strategySumsQuery } from '../../../server/services/portfolio/figures.ts';
import { strategyNamesQuery } from '../../../server/services/portfolio/overview.ts';
import { openPositionsQuery } from '../../../server/services/portfolio/positions.ts';
import { strategyRoutesQuery } from '../../../server/services/portfolio/strategy-detail.ts';
import { tradesQuery } from '../../../server/services/portfolio/trades-list.ts';
import { useTestDatabase } from '../../helpers/db.ts';
import { insertStrategy } from '../../helpers/fixtures.ts';

const { db } = useTestDatabase();

const USERS = 12;
const TRADES_PER_STRATEGY = 120;
let userId = 0;
let strategyId = 0;

beforeAll(async () => {
  const day = Date.UTC(2025, 0, 1);
  for (let u = 0; u < USERS; u++) {
    const [user] = await db
      .insert(users)
      .values({ email: `explain-${randomUUID()}@example.com`, passwordHash: 'argon2id$x', name: 'Explain' })
      .$returningId();
    if (!user) throw new Error('user insert returned no id');
    const [connection] = await db
      .insert(brokerConnections)
      .values({ userId: user.id, broker: 'tradovate', name: 'C', credentialsEnc: 'v1:x' })
      .$returningId();
    if (!connection) throw new Error('connection insert returned no id');
    for (let s = 0; s < 3; s++) {
      const sid = await insertStrategy(db, user.id);
      userId = user.id;
      strategyId = sid;
      await db.insert(routingRules).values({ userId: user.id, strategyId: sid, brokerConnectionId: connection.id });
      await db.insert(trades).values(
        Array.from({ length: TRADES_PER_STRATEGY }, (_, i) => ({
          userId: user.id,
          strategyId: sid,
          brokerConnectionId: connection.id,
          symbol: i % 2 ? 'MNQZ5' : 'ESH6',
          side: i % 3 ? ('long' as const) : ('short' as const),
          quantity: '1',
          entryPrice: '100',
          exitPrice: '101',
          entryDate: new Date(day + i * 86_400_000),
          exitDate: new Date(day + i * 86_400_000 + 3_600_000),
          pnl: String((i % 7) - 3),
          pnlPercent: '0',
          fees: '1',
          status: 'closed' as const,
        })),
      );
      for (const symbol of ['NQH6', 'CLG6']) {
        const [trade] = await db
          .insert(trades)
          .values({
            userId: user.id,
            strategyId: sid,
            brokerConnectionId: connection.id,
            symbol,
            side: 'long',
            quantity: '1',
            entryPrice: '100',
            entryDate: new Date(day),
          })
          .$returningId();
        await db.insert(openPositions).values({
          strategyId: sid,
          brokerConnectionId: connection.id,
          symbol,
          side: 'long',
          quantity: '1',
          avgEntryPrice: '100',
          openedAt: new Date(day),
        });
        const [order] = await db
          .insert(brokerOrders)
          .values({
            userId: user.id,
            strategyId: sid,
            brokerConnectionId: connection.id,
            tradeId: trade?.id,
            clientOrderId: `fp-x-${randomUUID()}`,
            symbol,
            brokerSymbol: symbol,
            side: 'buy',
            intent: 'open',
            orderType: 'market',
            tif: 'day',
            quantity: '1',
          })
          .$returningId();
        await db.insert(fills).values({
          brokerOrderId: order?.id ?? 0,
          brokerFillId: 'f1',
          quantity: '1',
          price: '100',
          filledAt: new Date(day),
        });
      }
    }
  }
  await db.insert(benchmarks).values(
    Array.from({ length: 400 }, (_, i) => ({
      symbol: i % 2 ? 'SPY' : 'QQQ',
      date: new Date(day + i * 86_400_000).toISOString().slice(0, 10),
      close: '500',
    })),
  );
  await db.execute(
    sql.raw(
      'ANALYZE TABLE trades, open_positions, strategies, broker_connections, broker_orders, fills, routing_rules, benchmarks',
    ),
  );
}, 60_000);

interface PlanRow {
  table: string | null;
  type: string | null;
  key: string | null;
  Extra: string | null;
}

async function plan(query: SQL | { getSQL(): SQL }): Promise<PlanRow[]> {
  const statement = 'getSQL' in query ? query.getSQL() : query;
  const [rows] = (await db.execute(sql`EXPLAIN ${statement}`)) as unknown as [PlanRow[]];
  return rows;
}

/** The plan's rows on real tables (derived tables and subquery results are Node of their own). */
function onTables(rows: PlanRow[]): PlanRow[] {
  return rows.filter((row) => row.table !== null && !row.table.startsWith('<'));
}

function expectIndexed(rows: PlanRow[]): void {
  const tables = onTables(rows);
  expect(tables.length).toBeGreaterThan(0);
  for (const row of tables) {
    expect({ table: row.table, type: row.type }).not.toEqual({ table: row.table, type: 'ALL' });
    expect({ table: row.table, key: row.key }).not.toEqual({ table: row.table, key: null });
  }
}

const from = new Date('2025-02-01T00:00:00.000Z');
const to = new Date('2025-03-01T00:00:00.000Z');

describe('the figures read only the covering index of a user’s closed trades', () => {
  it.each([
    ['every trade', {}],
    ['a range', { from, to }],
    ['one strategy', { strategyId: -1 }],
  ])('per-strategy sums over %s', async (_, extra) => {
    const scope = { userId, ...extra, ...('strategyId' in extra ? { strategyId } : {}) };
    const rows = onTables(await plan(strategySumsQuery(db, scope)));
    expectIndexed(rows);
    if (!('strategyId' in extra)) {
      expect(rows[0]).toMatchObject({ table: 'trades', key: 'trades_user_id_status_exit_date_cover_idx' });
      expect(rows[0]?.Extra).toContain('Using index');
    }
  });

  it.each([
    ['days', 'day', {}],
    ['weeks of a range', 'week', { from, to }],
    ['days of one strategy', 'day', { strategyId: -1 }],
  ] as const)('the equity curve by %s', async (_, interval, extra) => {
    const scope = { userId, ...extra, ...('strategyId' in extra ? { strategyId } : {}) };
    const rows = onTables(await plan(equityCurveQuery(scope, interval)));
    expectIndexed(rows);
    expect(rows.map((row) => row.table)).toEqual(['trades']);
  });
});

describe('lists and lookups use their indexes', () => {
  it('open positions, with their strategy, connection, open trade and last fill', async () => {
    expectIndexed(await plan(openPositionsQuery(db, { userId, limit: 26 })));
    expectIndexed(await plan(openPositionsQuery(db, { userId, strategyId, beforeId: 1_000_000, limit: 26 })));
  });

  it.each([
    ['no filter', {}],
    ['a strategy', { strategyId: -1 }],
    ['open trades', { status: 'open' as const }],
    ['a symbol and a range', { symbol: 'MNQZ5', from, to }],
  ])('trades with %s', async (_, extra) => {
    const input = { limit: 26, ...extra, ...('strategyId' in extra ? { strategyId } : {}) };
    expectIndexed(await plan(tradesQuery(db, userId, input, undefined)));
    const below = sql`(${trades.entryDate} < ${from} or (${trades.entryDate} = ${from} and ${trades.id} < ${1_000_000}))`;
    expectIndexed(await plan(tradesQuery(db, userId, input, below)));
  });

  it('strategy names, routing, benchmark closes', async () => {
    expectIndexed(await plan(strategyNamesQuery(db, userId, [strategyId])));
    expectIndexed(await plan(strategyRoutesQuery(db, userId, strategyId)));
    expectIndexed(await plan(closeOnOrBeforeQuery(db, 'SPY', '2025-06-01')));
    expectIndexed(await plan(firstCloseFromQuery(db, 'SPY', '2025-06-01')));
  });
});
