/**
 * Max drawdown and the Sharpe ratio, both over the period's realized equity at the end of each UTC day: one SQL read
 * groups the closed trades by day and accumulates them (equity-curve.ts); this file reduces those daily points, a few
 * hundred rows a year at most, never the trades themselves. Definitions in docs/portfolio-figures.md.
 */
import type { Big } from 'big.js';
import type { EquityPoint, RiskFigures } from '#shared/schemas/portfolio.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import { Dec, RATIO_SCALE, roundTo, shortest } from './decimals.ts';
import { equityPoints } from './equity-curve.ts';
import { type TradeScope, utcDay } from './scope.ts';

const DAY_MS = 86_400_000;
const TRADING_DAYS_PER_YEAR = 252;

export interface Period {
  firstDay: string | null;
  lastDay: string | null;
}

export interface DailyRisk {
  risk: RiskFigures;
  period: Period;
  /** The day-by-day equity curve the figures were computed from. */
  daily: EquityPoint[];
}

export async function dailyRisk(db: DbOrTx, scope: TradeScope, now: Date): Promise<DailyRisk> {
  const daily = await equityPoints(db, scope, 'day');
  const period = periodOf(scope, daily[0]?.date ?? null, daily.at(-1)?.date ?? null, now);
  return { risk: { ...drawdownOf(daily), ...sharpeOf(daily, period) }, period, daily };
}

/**
 * The largest fall of end-of-day equity below its running peak (the start of the period is a peak of 0), and the
 * largest such fall as a percentage of its peak, over the points where the peak is above 0.
 */
export function drawdownOf(daily: EquityPoint[]): Pick<RiskFigures, 'maxDrawdown' | 'maxDrawdownPercent'> {
  let maxDrawdown: Big = new Dec(0);
  // The largest drawdown / peak so far, kept as the pair: fractions compare by cross-multiplying, so the one
  // division happens at the end (a 30-decimal division per day would dominate the whole overview).
  let worst: { drawdown: Big; peak: Big } | null = null;
  for (const point of daily) {
    const drawdown = new Dec(point.drawdown);
    if (drawdown.gt(maxDrawdown)) maxDrawdown = drawdown;
    const peak = drawdown.plus(point.equity);
    if (peak.gt(0) && (worst === null || drawdown.times(worst.peak).gt(worst.drawdown.times(peak)))) {
      worst = { drawdown, peak };
    }
  }
  return {
    maxDrawdown: shortest(maxDrawdown),
    maxDrawdownPercent: worst === null ? null : roundTo(worst.drawdown.times(100).div(worst.peak), RATIO_SCALE),
  };
}

/**
 * The days the period covers: from `from` (else the first day a trade closed) to the day before `to` (else the last
 * day a trade closed), never past today or the last close, whichever is later, so future days do not count as flat.
 */
export function periodOf(scope: TradeScope, firstClose: string | null, lastClose: string | null, now: Date): Period {
  const firstDay = scope.from ? utcDay(scope.from) : firstClose;
  let lastDay = scope.to ? utcDay(new Date(scope.to.getTime() - 1)) : lastClose;
  if (scope.to && lastDay !== null) {
    const today = utcDay(now);
    const latest = lastClose !== null && lastClose > today ? lastClose : today;
    if (lastDay > latest) lastDay = latest;
  }
  if (firstDay === null || lastDay === null || lastDay < firstDay) return { firstDay: null, lastDay: null };
  return { firstDay, lastDay };
}

/**
 * Sharpe = mean / sample standard deviation of the daily P&L × √252, over every weekday of the period plus the
 * weekend days on which a trade closed (a day without a close is a day of 0). Scale-free, so no capital is needed:
 * with a constant capital C the daily returns are P&L / C and C cancels out. Risk-free rate 0.
 * With n days, S = Σd and Q = Σd²: sharpe = S × √(252 (n − 1) / (n (n Q − S²))).
 */
export function sharpeOf(daily: EquityPoint[], period: Period): Pick<RiskFigures, 'sharpe' | 'sharpeDays'> {
  if (period.firstDay === null || period.lastDay === null) return { sharpe: null, sharpeDays: 0 };
  let weekendDays = 0;
  let s: Big = new Dec(0);
  let q: Big = new Dec(0);
  for (const point of daily) {
    const day = new Date(`${point.date}T00:00:00Z`).getUTCDay();
    if (day === 0 || day === 6) weekendDays++;
    s = s.plus(point.pnl);
    q = q.plus(new Dec(point.pnl).times(point.pnl));
  }
  const n = weekdaysBetween(period.firstDay, period.lastDay) + weekendDays;
  if (n < 2) return { sharpe: null, sharpeDays: n };
  const spread = new Dec(n).times(q).minus(s.times(s));
  if (spread.lte(0)) return { sharpe: null, sharpeDays: n };
  const scale = new Dec(TRADING_DAYS_PER_YEAR * (n - 1)).div(new Dec(n).times(spread));
  return { sharpe: roundTo(s.times(scale.sqrt()), RATIO_SCALE), sharpeDays: n };
}

/** Monday to Friday days in [first, last], both YYYY-MM-DD. */
export function weekdaysBetween(first: string, last: string): number {
  const start = Date.parse(`${first}T00:00:00Z`);
  const days = Math.round((Date.parse(`${last}T00:00:00Z`) - start) / DAY_MS) + 1;
  if (days <= 0) return 0;
  const startDow = new Date(start).getUTCDay();
  let count = Math.floor(days / 7) * 5;
  for (let i = 0; i < days % 7; i++) {
    const dow = (startDow + i) % 7;
    if (dow !== 0 && dow !== 6) count++;
  }
  return count;
}
