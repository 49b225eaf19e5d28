/**
 * Synthetic market data for the seed: the US trading calendar approximated by weekdays, a daily close per symbol as a
 * geometric random walk, and the benchmark series built from it. Every walk starts at EPOCH with its own seeded
 * stream, so a day's price is the same whatever window a run covers: the demo seed can run on a later day and
 * append closes without rewriting earlier ones. Prices are integer cents, so later arithmetic on them is exact.
 */
import { randomStream } from './random.ts';

const DAY_MS = 86_400_000;
export const EPOCH_MS = Date.UTC(2020, 0, 1);
/** The regular US session in UTC (13:30–20:00, standard time), in minutes. */
export const SESSION_OPEN_MIN = 13 * 60 + 30;
export const SESSION_MINUTES = 390;

interface SymbolProfile {
  /** Price at EPOCH, in dollars. */
  start: number;
  /** Daily volatility of the log return. */
  vol: number;
}

/** Equities and ETFs an Alpaca account trades; the multiplier is 1, so P&L is price difference × quantity. */
export const SYMBOLS: Record<string, SymbolProfile> = {
  AAPL: { start: 75, vol: 0.019 },
  MSFT: { start: 160, vol: 0.017 },
  NVDA: { start: 6, vol: 0.03 },
  TSLA: { start: 28, vol: 0.038 },
  AMZN: { start: 95, vol: 0.021 },
  META: { start: 210, vol: 0.025 },
  SPY: { start: 325, vol: 0.011 },
  QQQ: { start: 215, vol: 0.014 },
};
export const SYMBOL_NAMES = Object.keys(SYMBOLS);
export const BENCHMARK_SYMBOL = 'SPY';

/** Days since EPOCH of an instant (UTC). */
export function dayOf(ms: number): number {
  return Math.floor((ms - EPOCH_MS) / DAY_MS);
}

export function dayStartMs(day: number): number {
  return EPOCH_MS + day * DAY_MS;
}

export function isTradingDay(day: number): boolean {
  const weekday = new Date(dayStartMs(day)).getUTCDay();
  return weekday !== 0 && weekday !== 6;
}

/** Weekdays in [firstDay, lastDay], as day numbers. */
export function tradingDays(firstDay: number, lastDay: number): number[] {
  const days: number[] = [];
  for (let day = firstDay; day <= lastDay; day++) if (isTradingDay(day)) days.push(day);
  return days;
}

/** `YYYY-MM-DD` of a day. */
export function isoDate(day: number): string {
  return new Date(dayStartMs(day)).toISOString().slice(0, 10);
}

/** Integer cents as a decimal string: -1234 → "-12.34". */
export function centsText(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

const walks = new Map<string, number[]>();

/**
 * Closes in cents of `symbol` for every day from EPOCH through `lastDay` (weekends repeat Friday's close). A slight
 * upward drift, and a floor of one dollar so a volatile walk never reaches zero.
 */
export function closesInCents(seed: number, symbol: string, lastDay: number): number[] {
  const key = `${seed}|${symbol}`;
  const cached = walks.get(key);
  if (cached && cached.length > lastDay) return cached;
  const profile = SYMBOLS[symbol];
  if (!profile) throw new Error(`no market profile for ${symbol}`);
  const random = randomStream(seed, `walk:${symbol}`);
  const closes: number[] = [];
  let price = profile.start;
  for (let day = 0; day <= lastDay; day++) {
    if (isTradingDay(day)) price = Math.max(1, price * Math.exp(0.0004 + profile.vol * random.normal()));
    closes.push(Math.round(price * 100));
  }
  walks.set(key, closes);
  return closes;
}

export function closeInCents(seed: number, symbol: string, day: number): number {
  const close = closesInCents(seed, symbol, day)[day];
  if (close === undefined) throw new Error(`no close for ${symbol} on day ${day}`);
  return close;
}

export interface BenchmarkClose {
  symbol: string;
  date: string;
  close: string;
}

/** The benchmark's close on every trading day of [firstDay, lastDay]. */
export function benchmarkSeries(seed: number, firstDay: number, lastDay: number): BenchmarkClose[] {
  const closes = closesInCents(seed, BENCHMARK_SYMBOL, lastDay);
  return tradingDays(firstDay, lastDay).map((day) => ({
    symbol: BENCHMARK_SYMBOL,
    date: isoDate(day),
    close: centsText(closes[day] ?? 0),
  }));
}
