/**
 * portfolio.getStrategyDetail and portfolio.getEquityCurve over HTTP on small fixed books, against values worked out
 * by hand in the comments. Days are UTC; 2026-01-05 is a Monday.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookLogs } from '../../../drizzle/schema/webhook_logs.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { trpcFailure } from '../../helpers/client.ts';
import { type Book, benchmarkCloses, closedTrade, connectionOf, strategyOf, type Trader, trader } from './books.ts';

let server: TestApp;
let t: Trader;
let a: Book;
let b: Book;
let other: Trader;
beforeAll(async () => {
  server = await startTestApp();
  const db = server.deps.database.db;
  [t, other] = await Promise.all([trader(server.url, db), trader(server.url, db)]);
  a = { strategyId: await strategyOf(t, 'A'), connectionId: await connectionOf(t, 'tradovate', 'Topstep') };
  b = { strategyId: await strategyOf(t, 'B'), connectionId: await connectionOf(t, 'alpaca', 'Paper') };
  // A: Mon +95, Tue −60, Thu +200. B: Wed −140 (not A's).
  await closedTrade(t, a, { pnl: '95', fees: '5', exit: '2026-01-05T15:00:00.000Z' });
  await closedTrade(t, a, { pnl: '-60', fees: '10', side: 'short', exit: '2026-01-06T15:00:00.000Z' });
  await closedTrade(t, a, { pnl: '200', fees: '6', side: 'short', exit: '2026-01-08T15:00:00.000Z' });
  await closedTrade(t, b, { pnl: '-140', fees: '1', symbol: 'AAPL', exit: '2026-01-07T15:00:00.000Z' });
  // The weeks curve: Fri 01-09 +10, Sat 01-10 −10 fall in the week of 01-05; Mon 01-12 +30 opens the next.
  await closedTrade(t, b, { pnl: '10', symbol: 'BTCUSD', exit: '2026-01-09T12:00:00.000Z' });
  await closedTrade(t, b, { pnl: '-10', symbol: 'BTCUSD', exit: '2026-01-10T12:00:00.000Z' });
  await closedTrade(t, b, { pnl: '30', symbol: 'BTCUSD', exit: '2026-01-12T12:00:00.000Z' });
  await benchmarkCloses(db, 'SPY', {
    '2026-01-02': '600',
    '2026-01-05': '610',
    '2026-01-08': '630',
    '2026-01-09': '1',
  });
  await t.client.routing.create.mutate({ strategyId: a.strategyId, brokerConnectionId: a.connectionId, priority: 2 });
  await db.insert(webhookLogs).values([
    { strategyId: a.strategyId, receivedAt: new Date('2026-01-05T14:00:00.000Z'), rawBody: '{}', status: 'executed' },
    { strategyId: a.strategyId, receivedAt: new Date('2026-01-08T14:00:00.000Z'), rawBody: '{}', status: 'rejected' },
    { strategyId: b.strategyId, receivedAt: new Date('2026-01-07T14:00:00.000Z'), rawBody: '{}', status: 'executed' },
  ]);
});
afterAll(() => server.close());

describe('getStrategyDetail', () => {
  it("gives one strategy's figures, curve, benchmark, routing and latest signals", async () => {
    const detail = await t.client.portfolio.getStrategyDetail.query({ strategyId: a.strategyId });
    expect(detail.strategy).toEqual({ id: a.strategyId, name: 'A', isActive: true });
    expect(detail.figures).toEqual({
      realizedPnl: '235',
      unrealizedPnl: '0',
      totalPnl: '235',
      fees: '21',
      grossProfit: '295',
      grossLoss: '-60',
      tradeCount: 3,
      winCount: 2,
      lossCount: 1,
      breakevenCount: 0,
      // 2 / 3.
      winRate: '66.6667',
      profitFactor: '4.9167',
      averageWin: '147.5',
      averageLoss: '-60',
      // 235 / 3 = 78.3333333…
      expectancy: '78.33333333',
      openPositionCount: 0,
      // End-of-day equity 95, 35, 235: a fall of 60 from 95.
      maxDrawdown: '60',
      maxDrawdownPercent: '63.1579',
      // Mon 95, Tue −60, Wed 0, Thu 200: n = 4, S = 235, Q = 52625;
      // 235·√(756 / (4·(4·52625 − 235²))) = 235·√(756 / 621100) = 8.19875663…
      sharpe: '8.1988',
      sharpeDays: 4,
    });
    expect(detail.period).toEqual({ from: null, to: null, firstDay: '2026-01-05', lastDay: '2026-01-08' });
    expect(detail.equityCurve).toEqual([
      { date: '2026-01-05', pnl: '95', equity: '95', drawdown: '0', trades: 1 },
      { date: '2026-01-06', pnl: '-60', equity: '35', drawdown: '60', trades: 1 },
      { date: '2026-01-08', pnl: '200', equity: '235', drawdown: '0', trades: 1 },
    ]);
    // Closes on or before the first day (01-05: 610) and the last (01-08: 630): 20 / 610 = 3.27868852…%.
    expect(detail.benchmark).toEqual({
      symbol: 'SPY',
      startDate: '2026-01-05',
      startClose: '610',
      endDate: '2026-01-08',
      endClose: '630',
      returnPercent: '3.2787',
    });
    expect(detail.routing).toMatchObject([
      { strategyId: a.strategyId, brokerConnectionId: a.connectionId, connectionName: 'Topstep', broker: 'tradovate' },
    ]);
    expect(detail.latestSignals.map((log) => [log.strategyName, log.status])).toEqual([
      ['A', 'rejected'],
      ['A', 'executed'],
    ]);
  });

  it('answers a null benchmark where the symbol has no closes, and takes a later close when none precedes', async () => {
    const none = await t.client.portfolio.getStrategyDetail.query({ strategyId: a.strategyId, benchmark: 'qqq' });
    expect(none.benchmark).toBeNull();
    await benchmarkCloses(server.deps.database.db, 'IWM', { '2026-01-06': '200', '2026-01-08': '190' });
    const later = await t.client.portfolio.getStrategyDetail.query({ strategyId: a.strategyId, benchmark: 'IWM' });
    // No close on or before 01-05: the first one inside the period (01-06) starts it. −10 / 200 = −5 %.
    expect(later.benchmark).toMatchObject({ startDate: '2026-01-06', endDate: '2026-01-08', returnPercent: '-5' });
  });

  it("answers NOT_FOUND for another user's strategy, exactly like a missing one", async () => {
    const foreign = await trpcFailure(() =>
      other.client.portfolio.getStrategyDetail.query({ strategyId: a.strategyId }),
    );
    const missing = await trpcFailure(() =>
      other.client.portfolio.getStrategyDetail.query({ strategyId: 999_999_999 }),
    );
    expect(foreign.data?.appCode).toBe('not-found');
    expect(foreign.message).toBe(missing.message);
  });
});

describe('getEquityCurve', () => {
  const from = new Date('2026-01-01T00:00:00.000Z');
  const to = new Date('2026-02-01T00:00:00.000Z');

  it('accumulates every strategy day by day, leaving out days without a close', async () => {
    const curve = await t.client.portfolio.getEquityCurve.query({ from, to, interval: 'day' });
    expect(curve).toEqual({
      interval: 'day',
      points: [
        { date: '2026-01-05', pnl: '95', equity: '95', drawdown: '0', trades: 1 },
        { date: '2026-01-06', pnl: '-60', equity: '35', drawdown: '60', trades: 1 },
        { date: '2026-01-07', pnl: '-140', equity: '-105', drawdown: '200', trades: 1 },
        { date: '2026-01-08', pnl: '200', equity: '95', drawdown: '0', trades: 1 },
        { date: '2026-01-09', pnl: '10', equity: '105', drawdown: '0', trades: 1 },
        { date: '2026-01-10', pnl: '-10', equity: '95', drawdown: '10', trades: 1 },
        { date: '2026-01-12', pnl: '30', equity: '125', drawdown: '0', trades: 1 },
      ],
    });
  });

  it('groups by weeks starting on Monday, and by strategy when asked', async () => {
    const weeks = await t.client.portfolio.getEquityCurve.query({ from, to, interval: 'week' });
    // Week of 01-05: 95 − 60 − 140 + 200 + 10 − 10 = 95 over 6 trades; week of 01-12: +30.
    expect(weeks.points).toEqual([
      { date: '2026-01-05', pnl: '95', equity: '95', drawdown: '0', trades: 6 },
      { date: '2026-01-12', pnl: '30', equity: '125', drawdown: '0', trades: 1 },
    ]);
    const onlyB = await t.client.portfolio.getEquityCurve.query({
      strategyId: b.strategyId,
      from: new Date('2026-01-08T00:00:00.000Z'),
      to,
      interval: 'week',
    });
    // B from 01-08: +10 − 10 in the first week, +30 in the next; the start of the range is equity 0.
    expect(onlyB.points).toEqual([
      { date: '2026-01-05', pnl: '0', equity: '0', drawdown: '0', trades: 2 },
      { date: '2026-01-12', pnl: '30', equity: '30', drawdown: '0', trades: 1 },
    ]);
  });

  it("shows nothing of another user's strategy", async () => {
    const curve = await other.client.portfolio.getEquityCurve.query({ strategyId: a.strategyId, from, to });
    expect(curve.points).toEqual([]);
  });
});
