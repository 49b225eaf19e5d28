/**
 * portfolio.getStrategyDetail: one strategy's figures (the overview's, plus drawdown and Sharpe), its day-by-day
 * equity curve and the benchmark's return over the same days — cached like the overview — and, read fresh on every
 * call because alerts change them without a fill, its routing and its latest signals.
 */
import { and, asc, eq } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import { routingRules } from '#drizzle/schema/routing_rules.ts';
import type { RouteView, StrategyDetail, StrategyDetailInput } from '#shared/schemas/portfolio.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { routingRuleColumns } from '../routing/view.ts';
import { loadOwnedStrategy } from '../strategies/view.ts';
import { listWebhookLogs } from '../webhooks/list-logs.ts';
import { benchmarkReturn } from './benchmark.ts';
import { cachedAnswer } from './cache.ts';
import type { PortfolioDeps } from './deps.ts';
import { EMPTY_SUMS, figuresFrom, strategySums } from './figures.ts';
import { openSums } from './positions.ts';
import { dailyRisk } from './risk.ts';

const LATEST_SIGNALS = 10;

type CachedPart = Pick<StrategyDetail, 'figures' | 'period' | 'equityCurve' | 'benchmark'>;

export async function getStrategyDetail(
  ctx: ServiceContext,
  deps: PortfolioDeps,
  input: StrategyDetailInput,
): Promise<StrategyDetail> {
  const userId = actingUserId(ctx);
  const strategy = await loadOwnedStrategy(ctx.db, ctx, input.strategyId);
  const [cached, routing, signals] = await Promise.all([
    cachedAnswer(deps.redis, ctx.log, { userId, procedure: 'strategy-detail', input }, () =>
      computeStrategyFigures(ctx.db, deps, { userId, ...input }),
    ),
    strategyRoutes(ctx.db, userId, input.strategyId),
    listWebhookLogs(ctx, { strategyId: input.strategyId, limit: LATEST_SIGNALS }),
  ]);
  return {
    strategy: { id: strategy.id, name: strategy.name, isActive: strategy.isActive },
    ...cached,
    routing,
    latestSignals: signals.items,
  };
}

async function computeStrategyFigures(
  db: DbOrTx,
  deps: PortfolioDeps,
  scope: StrategyDetailInput & { userId: number },
): Promise<CachedPart> {
  const now = deps.now?.() ?? new Date();
  const [sums, risk, open] = await Promise.all([
    strategySums(db, scope),
    dailyRisk(db, scope, now),
    openSums(db, deps.redis, { userId: scope.userId, strategyId: scope.strategyId }),
  ]);
  return {
    figures: { ...figuresFrom(sums.get(scope.strategyId) ?? EMPTY_SUMS, open.total), ...risk.risk },
    period: { from: scope.from ?? null, to: scope.to ?? null, ...risk.period },
    equityCurve: risk.daily,
    benchmark: await benchmarkReturn(db, scope.benchmark, risk.period),
  };
}

/** The strategy's live routing rules with their connections' names, by priority (the order signals fan out in). */
export function strategyRoutesQuery(db: DbOrTx, userId: number, strategyId: number) {
  return db
    .select({ ...routingRuleColumns, connectionName: brokerConnections.name, broker: brokerConnections.broker })
    .from(routingRules)
    .innerJoin(brokerConnections, eq(brokerConnections.id, routingRules.brokerConnectionId))
    .where(and(eq(routingRules.strategyId, strategyId), eq(routingRules.userId, userId), notDeleted(routingRules)))
    .orderBy(asc(routingRules.priority), asc(routingRules.id));
}

function strategyRoutes(db: DbOrTx, userId: number, strategyId: number): Promise<RouteView[]> {
  return strategyRoutesQuery(db, userId, strategyId);
}
