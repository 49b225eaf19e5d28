/**
 * portfolio.getEquityCurve: realized P&L per UTC day or ISO week (Monday first) over [from, to), with the running
 * equity (a window SUM over the grouped buckets) and drawdown. Buckets without a closed trade are left out: the equity
 * of the previous point carries over.
 */
import { type SQL, sql } from 'drizzle-orm';
import { trades } from '#drizzle/schema/trades.ts';
import type { EquityCurve, EquityInterval, EquityPoint, GetEquityCurveInput } from '#shared/schemas/portfolio.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { cachedAnswer } from './cache.ts';
import { Dec, money, shortest } from './decimals.ts';
import type { PortfolioDeps } from './deps.ts';
import { closedInPeriod, rowsOf, type TradeScope } from './scope.ts';

export function getEquityCurve(
  ctx: ServiceContext,
  deps: PortfolioDeps,
  input: GetEquityCurveInput,
): Promise<EquityCurve> {
  const userId = actingUserId(ctx);
  return cachedAnswer(deps.redis, ctx.log, { userId, procedure: 'equity-curve', input }, async () => ({
    interval: input.interval,
    points: await equityPoints(ctx.db, { userId, ...input }, input.interval),
  }));
}

/**
 * Realized P&L per bucket and its running sum (a window SUM, which MariaDB computes in one pass). The running peak
 * is not asked of SQL: MariaDB evaluates a windowed MAX frame by frame, quadratic in the number of buckets.
 */
export function equityCurveQuery(scope: TradeScope, interval: EquityInterval): SQL {
  const bucket =
    interval === 'day'
      ? sql`date(${trades.exitDate})`
      : sql`date(${trades.exitDate}) - INTERVAL weekday(${trades.exitDate}) DAY`;
  return sql`SELECT date_format(bucket, '%Y-%m-%d') AS date, pnl, trades,
      sum(pnl) OVER (ORDER BY bucket ROWS UNBOUNDED PRECEDING) AS equity
    FROM (
      SELECT ${bucket} AS bucket, sum(${trades.pnl}) AS pnl, count(*) AS trades
      FROM ${trades} WHERE ${closedInPeriod(scope)}
      GROUP BY bucket
    ) AS buckets
    ORDER BY bucket`;
}

interface PointRow {
  date: string;
  pnl: string;
  trades: string | number;
  equity: string;
}

/** The curve's points, oldest first; the drawdown is the fall from the highest equity so far (the start is 0). */
export async function equityPoints(db: DbOrTx, scope: TradeScope, interval: EquityInterval): Promise<EquityPoint[]> {
  const rows = await rowsOf<PointRow>(db.execute(equityCurveQuery(scope, interval)));
  let peak = new Dec(0);
  return rows.map((row) => {
    const equity = new Dec(row.equity);
    if (equity.gt(peak)) peak = equity;
    return {
      date: row.date,
      pnl: money(row.pnl),
      equity: money(row.equity),
      drawdown: shortest(peak.minus(equity)),
      trades: Number(row.trades),
    };
  });
}
