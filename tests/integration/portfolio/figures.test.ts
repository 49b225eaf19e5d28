/**
 * portfolio.getOverview over HTTP on small fixed books: every figure against values worked out by hand in the
 * comments (docs/portfolio-figures.md defines them). Each book belongs to its own trader, so the books never mix.
 * Days are UTC; 2026-01-05 is a Monday.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { trpcFailure } from '../../helpers/client.ts';
import { type Book, closedTrade, connectionOf, heldPosition, softDeleteTrade, strategyOf, trader } from './books.ts';

let server: TestApp;
beforeAll(async () => {
  server = await startTestApp();
});
afterAll(() => server.close());

const newTrader = () => trader(server.url, server.deps.database.db);

/** The figures of a book without a closed trade or an open position. */
const NOTHING = {
  realizedPnl: '0',
  unrealizedPnl: '0',
  totalPnl: '0',
  fees: '0',
  grossProfit: '0',
  grossLoss: '0',
  tradeCount: 0,
  winCount: 0,
  lossCount: 0,
  breakevenCount: 0,
  winRate: null,
  profitFactor: null,
  averageWin: null,
  averageLoss: null,
  expectancy: null,
  openPositionCount: 0,
};

describe('getOverview', () => {
  it('has zeros and nulls when there is no trade', async () => {
    const t = await newTrader();
    const strategyId = await strategyOf(t, 'Idle');
    const overview = await t.client.portfolio.getOverview.query();
    expect(overview).toEqual({
      ...NOTHING,
      maxDrawdown: '0',
      maxDrawdownPercent: null,
      sharpe: null,
      sharpeDays: 0,
      period: { from: null, to: null, firstDay: null, lastDay: null },
      strategies: [{ strategyId, strategyName: 'Idle', strategyDeleted: false, ...NOTHING }],
    });
  });

  it('one winning trade: a win rate of 100, no profit factor (no loss), no Sharpe (one day)', async () => {
    const t = await newTrader();
    const book = { strategyId: await strategyOf(t), connectionId: await connectionOf(t, 'tradovate') };
    await closedTrade(t, book, { pnl: '120', fees: '2', exit: '2026-01-05T15:00:00.000Z' });
    const overview = await t.client.portfolio.getOverview.query();
    expect(overview).toMatchObject({
      realizedPnl: '120',
      totalPnl: '120',
      fees: '2',
      grossProfit: '120',
      grossLoss: '0',
      tradeCount: 1,
      winCount: 1,
      winRate: '100',
      profitFactor: null,
      averageWin: '120',
      averageLoss: null,
      expectancy: '120',
      // Equity 120 at its peak: no fall, 0 % of a positive peak.
      maxDrawdown: '0',
      maxDrawdownPercent: '0',
      sharpe: null,
      sharpeDays: 1,
      period: { firstDay: '2026-01-05', lastDay: '2026-01-05' },
    });
  });

  it('losses only: win rate 0, profit factor 0, drawdown with no positive peak has no percentage', async () => {
    const t = await newTrader();
    const book = { strategyId: await strategyOf(t), connectionId: await connectionOf(t, 'tradovate') };
    await closedTrade(t, book, { pnl: '-50', fees: '1.5', exit: '2026-01-05T15:00:00.000Z' });
    await closedTrade(t, book, { pnl: '-30', fees: '1.5', side: 'short', exit: '2026-01-06T15:00:00.000Z' });
    const overview = await t.client.portfolio.getOverview.query();
    expect(overview).toMatchObject({
      realizedPnl: '-80',
      fees: '3',
      grossProfit: '0',
      grossLoss: '-80',
      tradeCount: 2,
      winCount: 0,
      lossCount: 2,
      winRate: '0',
      // 0 / |−80|.
      profitFactor: '0',
      averageWin: null,
      averageLoss: '-40',
      expectancy: '-40',
      // Equity −50 then −80 below the starting peak of 0.
      maxDrawdown: '80',
      maxDrawdownPercent: null,
      // Days Mon, Tue: n = 2, S = −80, Q = 2500 + 900 = 3400; S·√(252·1 / (2·(2·3400 − 6400))) = −80·√0.315
      // = −44.89988864… (mean −40 over a sample deviation of √200, times √252).
      sharpe: '-44.8999',
      sharpeDays: 2,
    });
  });

  it('wins only, with a day without a close in between', async () => {
    const t = await newTrader();
    const book = { strategyId: await strategyOf(t), connectionId: await connectionOf(t, 'alpaca') };
    await closedTrade(t, book, { pnl: '100', fees: '1', exit: '2026-01-05T15:00:00.000Z', symbol: 'AAPL' });
    await closedTrade(t, book, { pnl: '50', fees: '1', exit: '2026-01-07T15:00:00.000Z', symbol: 'AAPL' });
    const overview = await t.client.portfolio.getOverview.query();
    expect(overview).toMatchObject({
      realizedPnl: '150',
      grossLoss: '0',
      winCount: 2,
      lossCount: 0,
      winRate: '100',
      profitFactor: null,
      averageWin: '75',
      averageLoss: null,
      expectancy: '75',
      maxDrawdown: '0',
      maxDrawdownPercent: '0',
      // Days Mon 100, Tue 0, Wed 50: mean 50, sample deviation 50, so 1 × √252 = 15.87450786…
      sharpe: '15.8745',
      sharpeDays: 3,
    });
  });

  describe('a mixed book', () => {
    // Strategy A on Tradovate, strategy B on Alpaca. Exits (all in the week of Monday 2026-01-05):
    //   T1 A long   +95  fees 5   Mon 01-05
    //   T2 A short  −60  fees 10  Tue 01-06 00:00:00.000 (entered Fri 01-02, before the range below)
    //   T3 A long     0  fees 4   Tue 01-06 (breakeven)
    //   T4 A short +200  fees 6   Thu 01-08 00:00:00.000 (entered Wed 01-07)
    //   T5 B long  −140  fees 1   Wed 01-07
    //   T6 B long +1000  fees 1   Wed 01-07, soft-deleted: counts nowhere
    //   T7 A open trade, no position value: not realized
    let t: Awaited<ReturnType<typeof newTrader>>;
    let a: Book;
    let b: Book;
    beforeAll(async () => {
      t = await newTrader();
      a = { strategyId: await strategyOf(t, 'A'), connectionId: await connectionOf(t, 'tradovate') };
      b = { strategyId: await strategyOf(t, 'B'), connectionId: await connectionOf(t, 'alpaca') };
      await closedTrade(t, a, { pnl: '95', fees: '5', exit: '2026-01-05T15:00:00.000Z' });
      await closedTrade(t, a, {
        pnl: '-60',
        fees: '10',
        side: 'short',
        symbol: 'ESH6',
        entry: '2026-01-02T15:00:00.000Z',
        exit: '2026-01-06T00:00:00.000Z',
      });
      await closedTrade(t, a, { pnl: '0', fees: '4', exit: '2026-01-06T16:00:00.000Z' });
      await closedTrade(t, a, {
        pnl: '200',
        fees: '6',
        side: 'short',
        entry: '2026-01-07T20:00:00.000Z',
        exit: '2026-01-08T00:00:00.000Z',
      });
      await closedTrade(t, b, { pnl: '-140', fees: '1', symbol: 'AAPL', exit: '2026-01-07T15:00:00.000Z' });
      await softDeleteTrade(
        t,
        await closedTrade(t, b, { pnl: '1000', fees: '1', symbol: 'AAPL', exit: '2026-01-07T16:00:00.000Z' }),
      );
      await heldPosition(t, a, { symbol: 'MNQZ5', side: 'long', quantity: '1', avgEntryPrice: '21000' });
    });

    it('sums the live closed trades, in total and per strategy', async () => {
      const overview = await t.client.portfolio.getOverview.query({});
      expect(overview).toMatchObject({
        // 95 − 60 + 0 + 200 − 140; T6 left out.
        realizedPnl: '95',
        // The open position has no fill to mark it: valued at its entry, 0.
        unrealizedPnl: '0',
        totalPnl: '95',
        fees: '26',
        grossProfit: '295',
        grossLoss: '-200',
        tradeCount: 5,
        winCount: 2,
        lossCount: 2,
        breakevenCount: 1,
        winRate: '40',
        // 295 / 200.
        profitFactor: '1.475',
        averageWin: '147.5',
        averageLoss: '-100',
        expectancy: '19',
        openPositionCount: 1,
        // End-of-day equity 95, 35, −105, 95 under a peak of 95: falls 0, 60, 200, 0.
        maxDrawdown: '200',
        // 200 / 95 = 210.526315…%: equity went below zero.
        maxDrawdownPercent: '210.5263',
        // Days Mon..Thu, n = 4: S = 95, Q = 95² + 60² + 140² + 200² = 72225;
        // 95·√(252·3 / (4·(4·72225 − 95²))) = 95·√(756 / 1119500) = 2.46872351…
        sharpe: '2.4687',
        sharpeDays: 4,
        period: { from: null, to: null, firstDay: '2026-01-05', lastDay: '2026-01-08' },
      });
      expect(overview.strategies).toEqual([
        {
          strategyId: a.strategyId,
          strategyName: 'A',
          strategyDeleted: false,
          realizedPnl: '235',
          unrealizedPnl: '0',
          totalPnl: '235',
          fees: '25',
          grossProfit: '295',
          grossLoss: '-60',
          tradeCount: 4,
          winCount: 2,
          lossCount: 1,
          breakevenCount: 1,
          winRate: '50',
          // 295 / 60 = 4.91666…
          profitFactor: '4.9167',
          averageWin: '147.5',
          averageLoss: '-60',
          expectancy: '58.75',
          openPositionCount: 1,
        },
        {
          strategyId: b.strategyId,
          strategyName: 'B',
          strategyDeleted: false,
          realizedPnl: '-140',
          unrealizedPnl: '0',
          totalPnl: '-140',
          fees: '1',
          grossProfit: '0',
          grossLoss: '-140',
          tradeCount: 1,
          winCount: 0,
          lossCount: 1,
          breakevenCount: 0,
          winRate: '0',
          profitFactor: '0',
          averageWin: null,
          averageLoss: '-140',
          expectancy: '-140',
          openPositionCount: 0,
        },
      ]);
    });

    it('counts a trade in the range its exit falls in, whole: [from, to) cuts through T2 and T4', async () => {
      const from = new Date('2026-01-06T00:00:00.000Z');
      const to = new Date('2026-01-08T00:00:00.000Z');
      const overview = await t.client.portfolio.getOverview.query({ from, to });
      // T2 (entered before `from`, exits exactly at `from`), T3 and T5 count; T4 exits exactly at `to`: out.
      expect(overview).toMatchObject({
        realizedPnl: '-200',
        fees: '15',
        tradeCount: 3,
        winCount: 0,
        lossCount: 2,
        breakevenCount: 1,
        winRate: '0',
        profitFactor: '0',
        averageLoss: '-100',
        // −200 / 3 = −66.666666666…, 8 decimals half-up.
        expectancy: '-66.66666667',
        maxDrawdown: '200',
        maxDrawdownPercent: null,
        // Days Tue −60, Wed −140: mean −100, sample deviation √3200, × √252 = −28.0624304…
        sharpe: '-28.0624',
        sharpeDays: 2,
        period: { from, to, firstDay: '2026-01-06', lastDay: '2026-01-07' },
      });
    });

    it('keeps a deleted strategy in the breakdown while its trades count', async () => {
      const deleted = { strategyId: await strategyOf(t, 'Gone'), connectionId: a.connectionId };
      await closedTrade(t, deleted, { pnl: '5', exit: '2026-03-02T15:00:00.000Z' });
      await t.client.strategies.delete.mutate({ id: deleted.strategyId });
      const overview = await t.client.portfolio.getOverview.query({ from: new Date('2026-03-01T00:00:00.000Z') });
      expect(overview.realizedPnl).toBe('5');
      expect(overview.strategies.map((s) => [s.strategyName, s.strategyDeleted, s.realizedPnl])).toEqual([
        ['A', false, '0'],
        ['B', false, '0'],
        ['Gone', true, '5'],
      ]);
    });
  });

  it('counts a weekend day with a close as a day, and a weekend day without one not at all', async () => {
    const t = await newTrader();
    const book = { strategyId: await strategyOf(t), connectionId: await connectionOf(t, 'alpaca') };
    await closedTrade(t, book, { pnl: '10', symbol: 'BTCUSD', exit: '2026-01-09T12:00:00.000Z' }); // Fri
    await closedTrade(t, book, { pnl: '-10', symbol: 'BTCUSD', exit: '2026-01-10T12:00:00.000Z' }); // Sat
    await closedTrade(t, book, { pnl: '30', symbol: 'BTCUSD', exit: '2026-01-12T12:00:00.000Z' }); // Mon
    const overview = await t.client.portfolio.getOverview.query();
    // Fri 10, Sat −10, Mon 30 (Sunday had no close): n = 3, mean 10, sample deviation 20; 0.5 × √252 = 7.93725393…
    expect(overview).toMatchObject({ sharpe: '7.9373', sharpeDays: 3, maxDrawdown: '10', maxDrawdownPercent: '100' });
  });

  it('values open positions at their last fill, with futures multipliers, shorts negated', async () => {
    const t = await newTrader();
    const futures = { strategyId: await strategyOf(t, 'Futures'), connectionId: await connectionOf(t, 'tradovate') };
    const shares = { strategyId: await strategyOf(t, 'Shares'), connectionId: await connectionOf(t, 'alpaca') };
    // MNQ: 2 per point. (21012.5 − 21000) × 3 × 2 = 75.
    await heldPosition(t, futures, {
      symbol: 'MNQZ5',
      side: 'long',
      quantity: '3',
      avgEntryPrice: '21000',
      lastFill: { price: '21012.5', at: '2026-01-05T14:30:00.000Z' },
    });
    // ES: 50 per point, short. (6010.25 − 6000) × 2 × 50 × −1 = −1025.
    await heldPosition(t, futures, {
      symbol: 'ESH6',
      side: 'short',
      quantity: '2',
      avgEntryPrice: '6000',
      lastFill: { price: '6010.25', at: '2026-01-05T14:31:00.000Z' },
    });
    // On Alpaca ES is a share (Eversource): multiplier 1. (101 − 100) × 10 = 10.
    await heldPosition(t, shares, {
      symbol: 'ES',
      side: 'long',
      quantity: '10',
      avgEntryPrice: '100',
      lastFill: { price: '101', at: '2026-01-05T14:32:00.000Z' },
    });
    // Its open trade is deleted: it counts in no figure.
    const hidden = await heldPosition(t, shares, {
      symbol: 'AAPL',
      side: 'long',
      quantity: '1',
      avgEntryPrice: '140',
      lastFill: { price: '150', at: '2026-01-05T14:33:00.000Z' },
    });
    await softDeleteTrade(t, hidden.tradeId);

    const overview = await t.client.portfolio.getOverview.query();
    expect(overview).toMatchObject({ realizedPnl: '0', unrealizedPnl: '-940', totalPnl: '-940', openPositionCount: 3 });
    expect(overview.strategies.map((s) => [s.strategyName, s.unrealizedPnl, s.openPositionCount])).toEqual([
      ['Futures', '-950', 2],
      ['Shares', '10', 1],
    ]);
  });
});

describe('input errors', () => {
  it('answers validation-failed on `to` for a range that ends before it starts', async () => {
    const t = await newTrader();
    const error = await trpcFailure(() =>
      t.client.portfolio.getOverview.query({
        from: new Date('2026-02-01T00:00:00.000Z'),
        to: new Date('2026-01-01T00:00:00.000Z'),
      }),
    );
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(error.data?.appCode).toBe('validation-failed');
    expect(error.data?.zodError?.fieldErrors).toHaveProperty('to');
  });

  it('bounds what an answer may hold: curve ranges, page sizes, far-off dates', async () => {
    const t = await newTrader();
    const tooLong = await trpcFailure(() =>
      t.client.portfolio.getEquityCurve.query({
        from: new Date('2010-01-01T00:00:00.000Z'),
        to: new Date('2026-01-01T00:00:00.000Z'),
        interval: 'day',
      }),
    );
    expect(tooLong.data?.appCode).toBe('validation-failed');
    const bigPage = await trpcFailure(() => t.client.portfolio.getTrades.query({ limit: 101 }));
    expect(bigPage.data?.appCode).toBe('validation-failed');
    const farOff = await trpcFailure(() =>
      t.client.portfolio.getOverview.query({ from: new Date('9999-01-01T00:00:00.000Z') }),
    );
    expect(farOff.data?.appCode).toBe('validation-failed');
  });
});
