/**
 * The trade statistics (counts, realized P&L, win rate, profit factor, averages, expectancy) from one GROUP BY over
 * the period's closed trades: SQL sums exactly (decimal arithmetic), Node only divides the few sums per strategy.
 */
import { sql } from 'drizzle-orm';
import { trades } from '#drizzle/schema/trades.ts';
import type { PortfolioFigures } from '#shared/schemas/portfolio.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import { Dec, MONEY_SCALE, money, quotient, RATIO_SCALE, shortest } from './decimals.ts';
import { closedInPeriod, type TradeScope } from './scope.ts';

/** Sums over a set of closed trades. Money as exact decimal strings. */
export interface TradeSums {
  tradeCount: number;
  winCount: number;
  lossCount: number;
  realized: string;
  grossProfit: string;
  grossLoss: string;
  fees: string;
}

export const EMPTY_SUMS: TradeSums = {
  tradeCount: 0,
  winCount: 0,
  lossCount: 0,
  realized: '0',
  grossProfit: '0',
  grossLoss: '0',
  fees: '0',
};

/** What the open positions add to a set of figures (positions.ts). */
export interface OpenSums {
  unrealized: string;
  count: number;
}

/** The period's closed trades summed per strategy: one row per strategy that closed a trade. */
export function strategySumsQuery(db: DbOrTx, scope: TradeScope) {
  return db
    .select({
      strategyId: trades.strategyId,
      tradeCount: sql`count(*)`.mapWith(Number),
      winCount: sql`coalesce(sum(${trades.pnl} > 0), 0)`.mapWith(Number),
      lossCount: sql`coalesce(sum(${trades.pnl} < 0), 0)`.mapWith(Number),
      grossProfit: sql<string>`coalesce(sum(case when ${trades.pnl} > 0 then ${trades.pnl} end), 0)`,
      grossLoss: sql<string>`coalesce(sum(case when ${trades.pnl} < 0 then ${trades.pnl} end), 0)`,
      fees: sql<string>`coalesce(sum(${trades.fees}), 0)`,
    })
    .from(trades)
    .where(closedInPeriod(scope))
    .groupBy(trades.strategyId);
}

export async function strategySums(db: DbOrTx, scope: TradeScope): Promise<Map<number, TradeSums>> {
  const rows = await strategySumsQuery(db, scope);
  // Realized = profits + losses (breakevens add 0): one decimal SUM fewer per row scanned.
  return new Map(
    rows.map(({ strategyId, ...sums }) => [
      strategyId,
      { ...sums, realized: shortest(new Dec(sums.grossProfit).plus(sums.grossLoss)) },
    ]),
  );
}

export function addSums(a: TradeSums, b: TradeSums): TradeSums {
  const plus = (x: string, y: string) => shortest(new Dec(x).plus(y));
  return {
    tradeCount: a.tradeCount + b.tradeCount,
    winCount: a.winCount + b.winCount,
    lossCount: a.lossCount + b.lossCount,
    realized: plus(a.realized, b.realized),
    grossProfit: plus(a.grossProfit, b.grossProfit),
    grossLoss: plus(a.grossLoss, b.grossLoss),
    fees: plus(a.fees, b.fees),
  };
}

/** The figures of docs/portfolio-figures.md from the sums; null where a figure has no defined value. */
export function figuresFrom(sums: TradeSums, open: OpenSums): PortfolioFigures {
  const realized = money(sums.realized);
  const unrealized = money(open.unrealized);
  return {
    realizedPnl: realized,
    unrealizedPnl: unrealized,
    totalPnl: shortest(new Dec(realized).plus(unrealized)),
    fees: money(sums.fees),
    grossProfit: money(sums.grossProfit),
    grossLoss: money(sums.grossLoss),
    tradeCount: sums.tradeCount,
    winCount: sums.winCount,
    lossCount: sums.lossCount,
    breakevenCount: sums.tradeCount - sums.winCount - sums.lossCount,
    winRate: quotient(new Dec(sums.winCount).times(100), String(sums.tradeCount), RATIO_SCALE),
    // Without a loss the ratio is infinite: null, like every figure the data does not define.
    profitFactor: quotient(sums.grossProfit, new Dec(sums.grossLoss).abs(), RATIO_SCALE),
    averageWin: quotient(sums.grossProfit, String(sums.winCount), MONEY_SCALE),
    averageLoss: quotient(sums.grossLoss, String(sums.lossCount), MONEY_SCALE),
    expectancy: quotient(sums.realized, String(sums.tradeCount), MONEY_SCALE),
    openPositionCount: open.count,
  };
}
