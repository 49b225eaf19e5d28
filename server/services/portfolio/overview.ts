/**
 * portfolio.getOverview: the caller's figures over a period, in total and per strategy. Three reads run side by side —
 * the per-strategy sums, the daily equity (drawdown and Sharpe), the open positions — then the names of the
 * strategies that have figures; the answer is cached per user and input (cache.ts).
 */
import { and, eq, inArray, isNull, or } from 'drizzle-orm';
import { strategies } from '#drizzle/schema/strategies.ts';
import type { PortfolioOverview, PortfolioOverviewInput, StrategyBreakdown } from '#shared/schemas/portfolio.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { cachedAnswer } from './cache.ts';
import type { PortfolioDeps } from './deps.ts';
import { addSums, EMPTY_SUMS, figuresFrom, strategySums } from './figures.ts';
import { openSums } from './positions.ts';
import { dailyRisk } from './risk.ts';
import type { TradeScope } from './scope.ts';

export function getOverview(
  ctx: ServiceContext,
  deps: PortfolioDeps,
  input: PortfolioOverviewInput,
): Promise<PortfolioOverview> {
  const userId = actingUserId(ctx);
  return cachedAnswer(deps.redis, ctx.log, { userId, procedure: 'overview', input }, () =>
    computeOverview(ctx.db, deps, { userId, from: input.from, to: input.to }),
  );
}

export async function computeOverview(db: DbOrTx, deps: PortfolioDeps, scope: TradeScope): Promise<PortfolioOverview> {
  const now = deps.now?.() ?? new Date();
  const [sums, risk, open] = await Promise.all([
    strategySums(db, scope),
    dailyRisk(db, scope, now),
    openSums(db, deps.redis, { userId: scope.userId }),
  ]);
  const names = await strategyNames(db, scope.userId, [...sums.keys(), ...open.byStrategy.keys()]);
  const total = [...sums.values()].reduce(addSums, EMPTY_SUMS);
  const breakdown: StrategyBreakdown[] = names.map((strategy) => ({
    strategyId: strategy.id,
    strategyName: strategy.name,
    strategyDeleted: strategy.deleted,
    ...figuresFrom(
      sums.get(strategy.id) ?? EMPTY_SUMS,
      open.byStrategy.get(strategy.id) ?? { unrealized: '0', count: 0 },
    ),
  }));
  return {
    ...figuresFrom(total, open.total),
    ...risk.risk,
    period: { from: scope.from ?? null, to: scope.to ?? null, ...risk.period },
    strategies: breakdown,
  };
}

/**
 * The caller's live strategies, and the deleted ones that still have figures (their trades count), by id.
 * strategies_user_id_name_live_uq serves the user_id prefix.
 */
export function strategyNamesQuery(db: DbOrTx, userId: number, withFigures: number[]) {
  const ids = [...new Set(withFigures)];
  return db
    .select({ id: strategies.id, name: strategies.name, deletedAt: strategies.deletedAt })
    .from(strategies)
    .where(
      and(
        eq(strategies.userId, userId),
        ids.length === 0 ? isNull(strategies.deletedAt) : or(isNull(strategies.deletedAt), inArray(strategies.id, ids)),
      ),
    )
    .orderBy(strategies.id);
}

async function strategyNames(db: DbOrTx, userId: number, withFigures: number[]) {
  const rows = await strategyNamesQuery(db, userId, withFigures);
  return rows.map((row) => ({ id: row.id, name: row.name, deleted: row.deletedAt !== null }));
}
