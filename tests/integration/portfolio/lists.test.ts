/**
 * portfolio.getTrades, getOpenPositions and deleteTrade over HTTP: the caller's rows only, with their strategy and
 * connection names, in a stable order whose pages neither repeat nor skip while rows are inserted; a deleted trade is
 * gone from lists and figures, kept in the table and audited; positions carry their mark and unrealized P&L.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLogs } from '../../../drizzle/schema/audit_logs.ts';
import { trades } from '../../../drizzle/schema/trades.ts';
import { logger } from '../../../server/lib/logger.ts';
import { redisPortfolioSink } from '../../../server/services/portfolio/cache.ts';
import { noteBrokerMarks, setPortfolioSink } from '../../../server/services/portfolio/invalidation.ts';
import { rememberBrokerMarks } from '../../../server/services/portfolio/marks.ts';
import { startTestApp, type TestApp, waitFor } from '../../helpers/app.ts';
import { trpcFailure } from '../../helpers/client.ts';
import { type Book, closedTrade, connectionOf, heldPosition, strategyOf, type Trader, trader } from './books.ts';

let server: TestApp;
let t: Trader;
let other: Trader;
let a: Book;
let b: Book;
beforeAll(async () => {
  server = await startTestApp();
  const db = server.deps.database.db;
  [t, other] = await Promise.all([trader(server.url, db), trader(server.url, db)]);
  a = { strategyId: await strategyOf(t, 'Alpha'), connectionId: await connectionOf(t, 'tradovate', 'Topstep') };
  b = { strategyId: await strategyOf(t, 'Beta'), connectionId: await connectionOf(t, 'alpaca', 'Paper') };
});
afterAll(() => server.close());

async function allPages(
  client: Trader['client'],
  input: { limit: number; strategyId?: number },
  between?: () => Promise<void>,
) {
  const ids: number[] = [];
  let cursor: number | undefined;
  do {
    const page = await client.portfolio.getTrades.query({ ...input, cursor });
    ids.push(...page.items.map((item) => item.id));
    cursor = page.nextCursor ?? undefined;
    await between?.();
  } while (cursor !== undefined);
  return ids;
}

describe('getTrades', () => {
  const ids: Record<string, number> = {};
  beforeAll(async () => {
    ids.old = await closedTrade(t, a, {
      pnl: '12.5',
      fees: '1.24',
      side: 'short',
      entry: '2026-01-05T14:00:00.000Z',
      exit: '2026-01-05T15:00:00.000Z',
    });
    // Two trades entered at the same instant: the id breaks the tie.
    ids.tieLow = await closedTrade(t, b, {
      pnl: '-3',
      symbol: 'AAPL',
      entry: '2026-01-06T14:00:00.000Z',
      exit: '2026-01-06T15:00:00.000Z',
    });
    ids.tieHigh = await closedTrade(t, a, {
      pnl: '4',
      entry: '2026-01-06T14:00:00.000Z',
      exit: '2026-01-06T16:00:00.000Z',
    });
    ids.open = (
      await heldPosition(t, a, {
        symbol: 'ESH6',
        side: 'long',
        quantity: '2',
        avgEntryPrice: '6000',
        openedAt: '2026-01-07T14:00:00.000Z',
      })
    ).tradeId;
    ids.deleted = await closedTrade(t, b, {
      pnl: '9',
      symbol: 'AAPL',
      entry: '2026-01-07T10:00:00.000Z',
      exit: '2026-01-07T11:00:00.000Z',
    });
    await t.client.portfolio.deleteTrade.mutate({ id: ids.deleted });
    await closedTrade(
      other,
      { strategyId: await strategyOf(other), connectionId: await connectionOf(other, 'alpaca') },
      {
        pnl: '1',
        exit: '2026-01-06T15:00:00.000Z',
      },
    );
  });

  it("lists the caller's live trades newest entry first, with names, as exact decimal strings", async () => {
    const page = await t.client.portfolio.getTrades.query({});
    expect(page.items.map((trade) => trade.id)).toEqual([ids.open, ids.tieHigh, ids.tieLow, ids.old]);
    expect(page.nextCursor).toBeNull();
    expect(page.items[3]).toEqual({
      id: ids.old,
      strategyId: a.strategyId,
      strategyName: 'Alpha',
      brokerConnectionId: a.connectionId,
      connectionName: 'Topstep',
      symbol: 'MNQZ5',
      side: 'short',
      status: 'closed',
      quantity: '1',
      entryPrice: '100',
      exitPrice: '101',
      entryDate: new Date('2026-01-05T14:00:00.000Z'),
      exitDate: new Date('2026-01-05T15:00:00.000Z'),
      pnl: '12.5',
      pnlPercent: '0',
      fees: '1.24',
    });
    expect(page.items[2]).toMatchObject({ strategyName: 'Beta', connectionName: 'Paper', symbol: 'AAPL' });
  });

  it('filters by strategy, symbol, status and entry date [from, to)', async () => {
    const list = async (input: Parameters<typeof t.client.portfolio.getTrades.query>[0]) =>
      (await t.client.portfolio.getTrades.query(input)).items.map((trade) => trade.id);
    expect(await list({ strategyId: b.strategyId })).toEqual([ids.tieLow]);
    expect(await list({ symbol: 'ESH6' })).toEqual([ids.open]);
    expect(await list({ status: 'open' })).toEqual([ids.open]);
    expect(await list({ status: 'closed', strategyId: a.strategyId })).toEqual([ids.tieHigh, ids.old]);
    expect(
      await list({ from: new Date('2026-01-06T14:00:00.000Z'), to: new Date('2026-01-07T14:00:00.000Z') }),
    ).toEqual([ids.tieHigh, ids.tieLow]);
    expect(await list({ strategyId: 999_999_999 })).toEqual([]);
  });

  it("ends the list at another user's trade used as a cursor", async () => {
    const page = await other.client.portfolio.getTrades.query({ cursor: ids.tieHigh });
    expect(page).toEqual({ items: [], nextCursor: null });
  });

  it('pages without duplicates or gaps while trades are inserted, newer and older, between pages', async () => {
    const pager = await trader(server.url, server.deps.database.db);
    const book = { strategyId: await strategyOf(pager), connectionId: await connectionOf(pager, 'alpaca') };
    const original: number[] = [];
    for (let i = 0; i < 23; i++) {
      // Three trades per entry instant, so ties fall across page boundaries.
      const entry = new Date(Date.UTC(2026, 1, 1 + Math.floor(i / 3), 14)).toISOString();
      original.push(await closedTrade(pager, book, { pnl: '1', entry, exit: '2026-03-01T00:00:00.000Z' }));
    }
    let inserted = 0;
    const seen = await allPages(pager.client, { limit: 4 }, async () => {
      inserted++;
      // One newer than everything (above the pages already read) and one dated inside what is still to come.
      await closedTrade(pager, book, { pnl: '2', entry: '2026-02-20T14:00:00.000Z', exit: '2026-03-01T00:00:00.000Z' });
      await closedTrade(pager, book, { pnl: '3', entry: '2026-02-01T14:00:00.000Z', exit: '2026-03-01T00:00:00.000Z' });
    });
    expect(new Set(seen).size).toBe(seen.length);
    expect(original.every((id) => seen.includes(id))).toBe(true);
    // Newest first throughout: the newer insertions never appear once paging started below them.
    const rows = await pager.client.portfolio.getTrades.query({ limit: 100 });
    const order = rows.items.map((row) => row.id);
    expect(seen).toEqual(order.filter((id) => seen.includes(id)));
    expect(inserted).toBeGreaterThan(5);
  });
});

describe('getOpenPositions', () => {
  let p: Trader;
  const positions: Record<string, number> = {};
  beforeAll(async () => {
    p = await trader(server.url, server.deps.database.db);
    const futures = {
      strategyId: await strategyOf(p, 'Futures'),
      connectionId: await connectionOf(p, 'tradovate', 'Topstep'),
    };
    positions.mnq = (
      await heldPosition(p, futures, {
        symbol: 'MNQZ5',
        side: 'long',
        quantity: '3',
        avgEntryPrice: '21000',
        lastFill: { price: '21012.5', at: '2026-01-05T14:30:00.000Z' },
      })
    ).positionId;
    positions.es = (
      await heldPosition(p, futures, { symbol: 'ESH6', side: 'short', quantity: '2', avgEntryPrice: '6000' })
    ).positionId;
    positions.cl = (
      await heldPosition(p, futures, {
        symbol: 'CLG6',
        side: 'short',
        quantity: '1',
        avgEntryPrice: '70',
        lastFill: { price: '69.5', at: '2026-01-05T14:40:00.000Z' },
      })
    ).positionId;
  });

  it('pages the positions newest first, each valued at its last fill with its multiplier', async () => {
    const first = await p.client.portfolio.getOpenPositions.query({ limit: 2 });
    expect(first.items.map((item) => item.id)).toEqual([positions.cl, positions.es]);
    const second = await p.client.portfolio.getOpenPositions.query({ limit: 2, cursor: first.nextCursor ?? 0 });
    expect(second).toMatchObject({ items: [{ id: positions.mnq }], nextCursor: null });
    // CL: 1000 per point, short: (69.5 − 70) × 1 × 1000 × −1 = 500.
    expect(first.items[0]).toMatchObject({
      strategyName: 'Futures',
      connectionName: 'Topstep',
      side: 'short',
      quantity: '1',
      multiplier: '1000',
      markPrice: '69.5',
      markSource: 'last-fill',
      markedAt: new Date('2026-01-05T14:40:00.000Z'),
      unrealizedPnl: '500',
    });
    // No fill to mark it: no mark, nothing unrealized.
    expect(first.items[1]).toMatchObject({ markPrice: null, markSource: null, markedAt: null, unrealizedPnl: '0' });
    expect(second.items[0]).toMatchObject({ multiplier: '2', markPrice: '21012.5', unrealizedPnl: '75' });
    expect((await other.client.portfolio.getOpenPositions.query({})).items).toEqual([]);
  });

  it("prefers the broker's mark from reconciliation when it is newer than the last fill", async () => {
    const [mnq] = (await p.client.portfolio.getOpenPositions.query({ limit: 100 })).items.filter(
      (item) => item.id === positions.mnq,
    );
    const connectionId = mnq?.brokerConnectionId ?? 0;
    const redis = server.deps.redis;
    await rememberBrokerMarks(
      redis,
      connectionId,
      [{ symbol: 'MNQZ5', marketPrice: '21001' }],
      new Date('2026-01-05T14:00:00.000Z'),
    );
    const older = await p.client.portfolio.getOpenPositions.query({ limit: 100 });
    // Older than the fill at 14:30: the fill still marks it.
    expect(older.items.find((item) => item.id === positions.mnq)).toMatchObject({
      markSource: 'last-fill',
      unrealizedPnl: '75',
    });
    // Through the process's sink, as reconciliation reports them (fire and forget).
    setPortfolioSink(redisPortfolioSink(redis, logger));
    try {
      noteBrokerMarks(connectionId, [{ symbol: 'mnqz5', marketPrice: '21020' }], new Date('2026-01-05T15:00:00.000Z'));
    } finally {
      setPortfolioSink(null);
    }
    const markOf = async () =>
      (await p.client.portfolio.getOpenPositions.query({ limit: 100 })).items.find((item) => item.id === positions.mnq);
    await waitFor(async () => (await markOf())?.markSource === 'broker', 5_000, 20);
    // (21020 − 21000) × 3 × 2 = 120.
    expect(await markOf()).toMatchObject({
      markPrice: '21020',
      markSource: 'broker',
      markedAt: new Date('2026-01-05T15:00:00.000Z'),
      unrealizedPnl: '120',
    });
  });
});

describe('deleteTrade', () => {
  it('hides the trade from lists and figures, keeps the row, and audits who did it', async () => {
    const d = await trader(server.url, server.deps.database.db);
    const book = { strategyId: await strategyOf(d), connectionId: await connectionOf(d, 'alpaca') };
    const kept = await closedTrade(d, book, { pnl: '10', exit: '2026-01-05T15:00:00.000Z' });
    const doomed = await closedTrade(d, book, { pnl: '-4', exit: '2026-01-06T15:00:00.000Z' });

    const answer = await d.client.portfolio.deleteTrade.mutate({ id: doomed });
    expect(answer.id).toBe(doomed);
    expect((await d.client.portfolio.getTrades.query({})).items.map((trade) => trade.id)).toEqual([kept]);
    expect(await d.client.portfolio.getOverview.query()).toMatchObject({ realizedPnl: '10', tradeCount: 1 });

    const [row] = await server.deps.database.db.select().from(trades).where(eq(trades.id, doomed));
    expect(row).toMatchObject({ deletedBy: d.id, pnl: '-4.00000000' });
    expect(row?.deletedAt?.getTime()).toBe(answer.deletedAt.getTime());
    const audits = await server.deps.database.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, 'trade.delete'), eq(auditLogs.resourceId, String(doomed))));
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ userId: d.id, actorType: 'user', resourceType: 'trade' });
    expect(audits[0]?.oldValue).toMatchObject({ pnl: '-4.00000000', status: 'closed' });

    const again = await trpcFailure(() => d.client.portfolio.deleteTrade.mutate({ id: doomed }));
    expect(again.data?.appCode).toBe('not-found');
  });

  it("answers NOT_FOUND for another user's trade and changes nothing", async () => {
    const mine = await closedTrade(t, a, { pnl: '1', exit: '2026-01-09T15:00:00.000Z' });
    const error = await trpcFailure(() => other.client.portfolio.deleteTrade.mutate({ id: mine }));
    expect(error.data?.appCode).toBe('not-found');
    const [row] = await server.deps.database.db.select().from(trades).where(eq(trades.id, mine));
    expect(row?.deletedAt).toBeNull();
  });
});
