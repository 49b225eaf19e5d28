import {
  deleteTradeInput,
  deleteTradeResult,
  equityCurve,
  getEquityCurveInput,
  getOpenPositionsInput,
  getTradesInput,
  openPositionPage,
  portfolioOverview,
  portfolioOverviewInput,
  strategyDetail,
  strategyDetailInput,
  tradePage,
} from '#shared/schemas/portfolio.ts';
import { deleteTrade } from '../../services/portfolio/delete-trade.ts';
import type { PortfolioDeps } from '../../services/portfolio/deps.ts';
import { getEquityCurve } from '../../services/portfolio/equity-curve.ts';
import { listOpenPositions } from '../../services/portfolio/open-positions.ts';
import { getOverview } from '../../services/portfolio/overview.ts';
import { getStrategyDetail } from '../../services/portfolio/strategy-detail.ts';
import { listTrades } from '../../services/portfolio/trades-list.ts';
import { serviceContext, type TrpcContext } from '../context.ts';
import { protectedProcedure, router } from '../init.ts';

const portfolioDeps = (ctx: TrpcContext): PortfolioDeps => ({ redis: ctx.deps.redis });

// Figures are defined in docs/portfolio-figures.md; every answer is the caller's own.
export const portfolioRouter = router({
  getOverview: protectedProcedure
    .input(portfolioOverviewInput)
    .output(portfolioOverview)
    .query(({ ctx, input }) => getOverview(serviceContext(ctx), portfolioDeps(ctx), input)),
  getStrategyDetail: protectedProcedure
    .input(strategyDetailInput)
    .output(strategyDetail)
    .query(({ ctx, input }) => getStrategyDetail(serviceContext(ctx), portfolioDeps(ctx), input)),
  getTrades: protectedProcedure
    .input(getTradesInput)
    .output(tradePage)
    .query(({ ctx, input }) => listTrades(serviceContext(ctx), input)),
  getOpenPositions: protectedProcedure
    .input(getOpenPositionsInput)
    .output(openPositionPage)
    .query(({ ctx, input }) => listOpenPositions(serviceContext(ctx), portfolioDeps(ctx), input)),
  getEquityCurve: protectedProcedure
    .input(getEquityCurveInput)
    .output(equityCurve)
    .query(({ ctx, input }) => getEquityCurve(serviceContext(ctx), portfolioDeps(ctx), input)),
  deleteTrade: protectedProcedure
    .input(deleteTradeInput)
    .output(deleteTradeResult)
    .mutation(({ ctx, input }) => deleteTrade(serviceContext(ctx), portfolioDeps(ctx), input.id)),
});
