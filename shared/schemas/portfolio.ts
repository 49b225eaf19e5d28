/**
 * portfolio.*: inputs and answers. Money is an exact decimal string (shortest form: '95.5', '-3', '0'); ratios and
 * percentages are decimal strings rounded half-up to 4 decimals; a figure that does not exist for the data (a win
 * rate without trades, a profit factor without losses) is null. docs/portfolio-figures.md defines every figure.
 */
import { z } from 'zod';
import { BROKERS, POSITION_SIDES, TRADE_STATUSES } from '../enums.ts';
import { paginationInput } from '../pagination.ts';
import { idSchema } from './common.ts';
import { routingRuleView } from './routing.ts';
import { webhookLogSummary } from './webhooks.ts';

/** The longest range a day-by-day curve may cover, so one answer stays bounded (about ten years of days). */
export const MAX_CURVE_DAYS = 3_660;
const DAY_MS = 86_400_000;

/** An instant the database can store (MySQL datetime), so a far-off date is a validation error, not a crash. */
const instant = z.coerce.date().min(new Date('1970-01-01T00:00:00.000Z')).max(new Date('9000-01-01T00:00:00.000Z'));

const range = { from: instant.optional(), to: instant.optional() };
const ordered = (value: { from?: Date; to?: Date }) => !value.from || !value.to || value.from < value.to;
const ORDER_ISSUE = { message: '`from` must be earlier than `to`', path: ['to'] };

/** Figures cover the trades closed in [from, to) (UTC instants); either end may be left open. */
export const portfolioOverviewInput = z.strictObject(range).refine(ordered, ORDER_ISSUE).default({});
export type PortfolioOverviewInput = z.infer<typeof portfolioOverviewInput>;

/** A benchmark symbol as benchmarks.symbol stores it (SPY, ^GSPC, BRK.B). */
const benchmarkSymbol = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z0-9.^=-]{1,32}$/, 'must be a benchmark symbol such as SPY');

export const strategyDetailInput = z
  .strictObject({ strategyId: idSchema, ...range, benchmark: benchmarkSymbol.default('SPY') })
  .refine(ordered, ORDER_ISSUE);
export type StrategyDetailInput = z.infer<typeof strategyDetailInput>;

/** Trades opened in [from, to) (entry date), newest first. */
export const getTradesInput = paginationInput
  .extend({
    strategyId: idSchema.optional(),
    symbol: z.string().trim().min(1).max(64).optional(),
    status: z.enum(TRADE_STATUSES).optional(),
    ...range,
  })
  .strict()
  .refine(ordered, ORDER_ISSUE)
  .default({ limit: 25 });
export type GetTradesInput = z.infer<typeof getTradesInput>;

export const getOpenPositionsInput = paginationInput
  .extend({ strategyId: idSchema.optional() })
  .strict()
  .default({ limit: 25 });
export type GetOpenPositionsInput = z.infer<typeof getOpenPositionsInput>;

export const EQUITY_INTERVALS = ['day', 'week'] as const;
export type EquityInterval = (typeof EQUITY_INTERVALS)[number];

export const getEquityCurveInput = z
  .strictObject({
    strategyId: idSchema.optional(),
    from: instant,
    to: instant,
    interval: z.enum(EQUITY_INTERVALS).default('day'),
  })
  .refine(ordered, ORDER_ISSUE)
  .refine((value) => value.to.getTime() - value.from.getTime() <= MAX_CURVE_DAYS * DAY_MS, {
    message: `the range may cover at most ${MAX_CURVE_DAYS} days`,
    path: ['to'],
  });
export type GetEquityCurveInput = z.infer<typeof getEquityCurveInput>;

export const deleteTradeInput = z.strictObject({ id: idSchema });

const money = z.string();
const ratio = z.string().nullable();

/** The figures of a set of trades (all of the caller's, or one strategy's). */
export const portfolioFigures = z.object({
  /** Sum of the net P&L of the trades closed in the period. */
  realizedPnl: money,
  /** Open positions valued at their latest mark, now (not bounded by the period). */
  unrealizedPnl: money,
  totalPnl: money,
  /** Fees of the trades closed in the period (already deducted from their P&L). */
  fees: money,
  grossProfit: money,
  grossLoss: money,
  tradeCount: z.number(),
  winCount: z.number(),
  lossCount: z.number(),
  breakevenCount: z.number(),
  /** Percent of closed trades with a positive P&L. */
  winRate: ratio,
  profitFactor: ratio,
  averageWin: z.string().nullable(),
  averageLoss: z.string().nullable(),
  expectancy: z.string().nullable(),
  openPositionCount: z.number(),
});
export type PortfolioFigures = z.infer<typeof portfolioFigures>;

/** Drawdown and Sharpe, over the period's realized equity. */
export const riskFigures = z.object({
  maxDrawdown: money,
  maxDrawdownPercent: ratio,
  sharpe: ratio,
  /** The days the Sharpe ratio was computed over. */
  sharpeDays: z.number(),
});
export type RiskFigures = z.infer<typeof riskFigures>;

/** The UTC days the period covers once open ends are resolved (null when it holds no closed trade to anchor it). */
export const periodView = z.object({
  from: z.date().nullable(),
  to: z.date().nullable(),
  firstDay: z.string().nullable(),
  lastDay: z.string().nullable(),
});

export const strategyBreakdown = portfolioFigures.extend({
  strategyId: z.number(),
  strategyName: z.string(),
  /** The strategy was deleted; its trades still count. */
  strategyDeleted: z.boolean(),
});
export type StrategyBreakdown = z.infer<typeof strategyBreakdown>;

export const portfolioOverview = portfolioFigures.extend({
  ...riskFigures.shape,
  period: periodView,
  strategies: z.array(strategyBreakdown),
});
export type PortfolioOverview = z.infer<typeof portfolioOverview>;

export const equityPoint = z.object({
  /** The bucket's first UTC day (a Monday for weeks), YYYY-MM-DD. */
  date: z.string(),
  /** Realized P&L of the trades closed in the bucket. */
  pnl: money,
  /** Realized P&L accumulated from the start of the range to the end of the bucket. */
  equity: money,
  /** Below the highest equity reached so far (0 at a new high; the start of the range counts as a high of 0). */
  drawdown: money,
  trades: z.number(),
});
export type EquityPoint = z.infer<typeof equityPoint>;

export const equityCurve = z.object({
  interval: z.enum(EQUITY_INTERVALS),
  points: z.array(equityPoint),
});
export type EquityCurve = z.infer<typeof equityCurve>;

export const benchmarkComparison = z.object({
  symbol: z.string(),
  startDate: z.string(),
  startClose: money,
  endDate: z.string(),
  endClose: money,
  /** (endClose / startClose − 1) × 100. */
  returnPercent: z.string(),
});
export type BenchmarkComparison = z.infer<typeof benchmarkComparison>;

export const routeView = routingRuleView.extend({
  connectionName: z.string(),
  broker: z.enum(BROKERS),
});
export type RouteView = z.infer<typeof routeView>;

export const strategyDetail = z.object({
  strategy: z.object({ id: z.number(), name: z.string(), isActive: z.boolean() }),
  figures: portfolioFigures.extend(riskFigures.shape),
  period: periodView,
  routing: z.array(routeView),
  /** The strategy's latest webhook logs, newest first (at most 10). */
  latestSignals: z.array(webhookLogSummary),
  /** Day by day over the period. */
  equityCurve: z.array(equityPoint),
  /** Null when the benchmark has no closes around the period. */
  benchmark: benchmarkComparison.nullable(),
});
export type StrategyDetail = z.infer<typeof strategyDetail>;

export const tradeView = z.object({
  id: z.number(),
  strategyId: z.number(),
  strategyName: z.string(),
  brokerConnectionId: z.number(),
  connectionName: z.string(),
  symbol: z.string(),
  side: z.enum(POSITION_SIDES),
  status: z.enum(TRADE_STATUSES),
  quantity: money,
  entryPrice: money,
  exitPrice: money.nullable(),
  entryDate: z.date(),
  exitDate: z.date().nullable(),
  pnl: money.nullable(),
  pnlPercent: money.nullable(),
  fees: money,
});
export type TradeView = z.infer<typeof tradeView>;
export const tradePage = z.object({ items: z.array(tradeView), nextCursor: z.number().nullable() });

export const MARK_SOURCES = ['broker', 'last-fill'] as const;
export type MarkSource = (typeof MARK_SOURCES)[number];

export const openPositionView = z.object({
  id: z.number(),
  strategyId: z.number(),
  strategyName: z.string(),
  brokerConnectionId: z.number(),
  connectionName: z.string(),
  symbol: z.string(),
  side: z.enum(POSITION_SIDES),
  quantity: money,
  avgEntryPrice: money,
  openedAt: z.date(),
  /** Currency value of a one-point move per unit (ES 50, shares 1). */
  multiplier: money,
  /** The latest price known: the broker's at the last reconciliation, or the position's last fill. */
  markPrice: money.nullable(),
  markSource: z.enum(MARK_SOURCES).nullable(),
  markedAt: z.date().nullable(),
  /** (mark − average entry) × quantity × multiplier, negated for shorts; '0' without a mark. */
  unrealizedPnl: money,
  /** The open trade of this position; null when there is none or it was deleted (then it counts in no figure). */
  tradeId: z.number().nullable(),
});
export type OpenPositionView = z.infer<typeof openPositionView>;
export const openPositionPage = z.object({ items: z.array(openPositionView), nextCursor: z.number().nullable() });

export const deleteTradeResult = z.object({ id: z.number(), deletedAt: z.date() });
