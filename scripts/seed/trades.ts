/**
 * Synthetic trade histories, shaped like what fill processing writes (server/services/execution/position-math.ts):
 * one round trip per row, entries in the US session on weekdays, one trade at a time per strategy, P&L net of fees
 * in exact cents and pnl_percent over the entry notional. Each strategy has a profile (symbols, win rate, size of
 * wins and losses, share of shorts, fees), so strategies and users differ the way real ones do.
 */
import { closeInCents, dayStartMs, SESSION_MINUTES, SESSION_OPEN_MIN, SYMBOL_NAMES } from './market.ts';
import { type Random, randomStream } from './random.ts';

const SESSION_MS = SESSION_MINUTES * 60_000;
const MINUTE_MS = 60_000;

export interface StrategyProfile {
  symbols: string[];
  winRate: number;
  /** Mean size of a winning and a losing move, as a fraction of the entry price. */
  avgWin: number;
  avgLoss: number;
  shortShare: number;
  /** Dollars per trade, roughly. */
  notional: number;
  /** Fees in tenths of a cent per share and side (0: commission-free). */
  feeMilliPerShare: number;
}

export function strategyProfile(random: Random): StrategyProfile {
  const symbols = [...new Set(Array.from({ length: random.int(1, 3) }, () => random.pick(SYMBOL_NAMES)))];
  return {
    symbols,
    winRate: random.between(0.36, 0.64),
    avgWin: random.between(0.004, 0.025),
    avgLoss: random.between(0.003, 0.018),
    shortShare: random.chance(0.6) ? 0 : random.between(0.2, 0.5),
    notional: random.pick([2_000, 5_000, 10_000, 25_000, 50_000]),
    feeMilliPerShare: random.chance(0.5) ? 0 : 5,
  };
}

export interface TradeRow {
  userId: number;
  strategyId: number;
  connectionId: number;
  symbol: string;
  side: 'long' | 'short';
  quantity: number;
  entryCents: number;
  entryMs: number;
  /** null while the trade is open. */
  exitCents: number | null;
  exitMs: number | null;
  pnlCents: number | null;
  pnlPercent: string | null;
  feesCents: number;
}

export interface HistoryOptions {
  seed: number;
  /** Names the strategy's random stream: the same label and seed give the same history. */
  label: string;
  userId: number;
  strategyId: number;
  connectionId: number;
  count: number;
  /** Trading days (day numbers, ascending) the entries spread over. */
  days: readonly number[];
  /** Whether the last trade is still open (an open position). */
  lastOpen: boolean;
}

/** pnl × 100 / basis with 8 decimals, rounded half away from zero, in exact integer arithmetic. */
export function percentText(pnlCents: number, basisCents: number): string {
  if (basisCents <= 0) return '0.00000000';
  const scaled = BigInt(pnlCents) * 10_000_000_000n; // × 100 for percent, × 10^8 for the scale
  const basis = BigInt(basisCents);
  const negative = scaled < 0n;
  const magnitude = negative ? -scaled : scaled;
  let quotient = magnitude / basis;
  if ((magnitude % basis) * 2n >= basis) quotient += 1n;
  const digits = quotient.toString().padStart(9, '0');
  return `${negative && quotient !== 0n ? '-' : ''}${digits.slice(0, -8)}.${digits.slice(-8)}`;
}

/** An instant `offsetMs` into the concatenated sessions of `days`. */
function sessionInstant(days: readonly number[], offsetMs: number): number {
  const index = Math.min(days.length - 1, Math.floor(offsetMs / SESSION_MS));
  const day = days[index] ?? 0;
  return dayStartMs(day) + SESSION_OPEN_MIN * MINUTE_MS + (offsetMs - index * SESSION_MS);
}

/** The day number of the session `offsetMs` falls in. */
function sessionDay(days: readonly number[], offsetMs: number): number {
  return days[Math.min(days.length - 1, Math.floor(offsetMs / SESSION_MS))] ?? 0;
}

/**
 * `count` trades of one strategy, oldest first. Entries are spread evenly over the sessions of `days` with jitter;
 * each trade exits before the next one enters. A win moves the price the trade's way, a loss against it; fees can
 * still turn a small win into a net loss, as they do in real books.
 */
export function strategyHistory(options: HistoryOptions): TradeRow[] {
  const { count, days } = options;
  if (count <= 0 || days.length === 0) return [];
  const random = randomStream(options.seed, options.label);
  const profile = strategyProfile(random);
  const totalMs = days.length * SESSION_MS;
  const entries = Array.from({ length: count }, (_, k) =>
    Math.floor(((k + 0.05 + 0.5 * random.next()) * totalMs) / count),
  );

  const rows: TradeRow[] = [];
  for (let k = 0; k < count; k++) {
    const entryOffset = entries[k] ?? 0;
    const nextOffset = entries[k + 1] ?? totalMs;
    const symbol = random.pick(profile.symbols);
    const side = random.chance(profile.shortShare) ? 'short' : 'long';
    const direction = side === 'long' ? 1 : -1;
    const market = closeInCents(options.seed, symbol, sessionDay(days, entryOffset));
    const entryCents = Math.max(1, Math.round(market * (1 + 0.004 * random.normal())));
    const quantity = Math.max(1, Math.round((profile.notional * 100 * random.between(0.8, 1.2)) / entryCents));
    const feePerSide = Math.round((quantity * profile.feeMilliPerShare) / 10);
    const base = {
      userId: options.userId,
      strategyId: options.strategyId,
      connectionId: options.connectionId,
      symbol,
      side,
      quantity,
      entryCents,
      entryMs: sessionInstant(days, entryOffset),
    } as const;

    if (k === count - 1 && options.lastOpen) {
      rows.push({ ...base, exitCents: null, exitMs: null, pnlCents: null, pnlPercent: null, feesCents: feePerSide });
      continue;
    }
    const win = random.chance(profile.winRate);
    const move = Math.abs((win ? profile.avgWin : profile.avgLoss) * (1 + 0.6 * random.normal()));
    const exitCents = Math.max(1, Math.round(entryCents * (1 + direction * (win ? move : -move))));
    const exitOffset =
      entryOffset + Math.max(MINUTE_MS, Math.floor((nextOffset - entryOffset) * random.between(0.1, 0.9)));
    const feesCents = 2 * feePerSide;
    const pnlCents = (exitCents - entryCents) * quantity * direction - feesCents;
    rows.push({
      ...base,
      exitCents,
      exitMs: sessionInstant(days, Math.min(exitOffset, nextOffset - 1)),
      pnlCents,
      pnlPercent: percentText(pnlCents, entryCents * quantity),
      feesCents,
    });
  }
  return rows;
}
