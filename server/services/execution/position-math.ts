/**
 * The books of one (strategy, connection, symbol): how a fill changes the position and its trade, by the
 * average-cost method (SPEC §5). Pure: no database, no clock, decimal strings in and out, never a JS number.
 *
 * Rounding: sums and products are exact; a division (an average, a share, a percentage) keeps 20 decimals, rounded
 * half-up. Nothing here rounds to the columns' 8 decimals, except one thing: the commission share of a fill that
 * crosses zero is rounded half-up to 8 decimals at once, so the two trades' shares add up exactly to the commission
 * the broker charged. Callers round everything else only when they store it (`toStored`).
 */
import { Big } from 'big.js';

/** Big with its own settings, so a change to the global Big.DP elsewhere cannot change the books. */
const Dec = Big();
Dec.DP = 20;
Dec.RM = Big.roundHalfUp;

/** decimal(20,8): the scale of every money, price and quantity column. */
export const STORED_SCALE = 8;

/** Signed quantity (negative = short), '0' and avg '0' when flat. */
export interface PositionState {
  quantity: string;
  avgEntryPrice: string;
}

export interface FillInput {
  side: 'buy' | 'sell';
  quantity: string;
  price: string;
  commission: string;
  filledAt: Date;
}

/**
 * The open round trip. `quantity` is everything entered so far and `entryPrice` its average cost across the entry
 * fills; exits accumulate their quantity and notional (for the exit price) and their realized P&L before fees.
 */
export interface OpenTradeState {
  side: 'long' | 'short';
  quantity: string;
  entryPrice: string;
  exitQuantity: string;
  exitNotional: string;
  realizedGross: string;
  fees: string;
  entryDate: Date;
}

export type ClosedTrade = OpenTradeState & { exitPrice: string; exitDate: Date; pnl: string; pnlPercent: string };

export interface FillEffect {
  position: PositionState;
  /** The open trade after the fill, or null when the fill left the position flat. */
  trade: OpenTradeState | null;
  /** True when `trade` is a new round trip started by this fill (from flat, or the remainder of a reversal). */
  openedTrade: boolean;
  closedTrade: ClosedTrade | null;
  /** Realized gross P&L of this fill (before fees, multiplier applied). */
  realized: string;
}

/**
 * Rounds half-up (ties away from zero, so -0.000000005 → -0.00000001) to the columns' 8 decimals: the one rounding
 * step between the exact books and storage. Returns the shortest form ('100', not '100.00000000'), never '-0'.
 */
export function toStored(value: string): string {
  return text(new Dec(value).round(STORED_SCALE, Big.roundHalfUp));
}

/** Canonical decimal text: no exponent, no trailing zeros, no negative zero. */
export function canonical(value: string): string {
  return text(new Dec(value));
}

function text(value: Big): string {
  return value.eq(0) ? '0' : value.toFixed();
}

export function applyFill(
  position: PositionState,
  trade: OpenTradeState | null,
  fill: FillInput,
  multiplier: string,
): FillEffect {
  const qty = new Dec(fill.quantity);
  if (qty.lte(0)) throw new RangeError(`fill quantity must be positive, got ${fill.quantity}`);
  const held = new Dec(position.quantity);
  assertConsistent(held, trade);
  const signed = fill.side === 'buy' ? qty : qty.neg();

  if (held.eq(0)) return { ...open(signed, fill, fill.commission), closedTrade: null, realized: '0' };
  if (held.gt(0) === signed.gt(0)) return add(held, position.avgEntryPrice, trade as OpenTradeState, qty, fill);
  return reduce(held, position.avgEntryPrice, trade as OpenTradeState, qty, signed, fill, multiplier);
}

function assertConsistent(held: Big, trade: OpenTradeState | null): void {
  if (held.eq(0) && trade) throw new Error('books disagree: an open trade exists while the position is flat');
  if (!held.eq(0) && !trade) throw new Error('books disagree: the position is open but has no open trade');
  if (trade && (trade.side === 'long') !== held.gt(0)) {
    throw new Error(`books disagree: a ${trade.side} trade for a position of ${text(held)}`);
  }
}

/** A new round trip of `signed` at the fill price, carrying `fees`. */
function open(signed: Big, fill: FillInput, fees: string): Pick<FillEffect, 'position' | 'trade' | 'openedTrade'> {
  return {
    position: { quantity: text(signed), avgEntryPrice: text(new Dec(fill.price)) },
    trade: {
      side: signed.gt(0) ? 'long' : 'short',
      quantity: text(signed.abs()),
      entryPrice: text(new Dec(fill.price)),
      exitQuantity: '0',
      exitNotional: '0',
      realizedGross: '0',
      fees: text(new Dec(fees)),
      entryDate: fill.filledAt,
    },
    openedTrade: true,
  };
}

/** Same direction: both the position's and the trade's average cost move to the quantity-weighted average. */
function add(held: Big, avg: string, trade: OpenTradeState, qty: Big, fill: FillInput): FillEffect {
  const size = held.abs();
  const entered = new Dec(trade.quantity);
  return {
    position: {
      quantity: text(held.gt(0) ? held.plus(qty) : held.minus(qty)),
      avgEntryPrice: text(weightedAverage(size, avg, qty, fill.price)),
    },
    trade: {
      ...trade,
      quantity: text(entered.plus(qty)),
      entryPrice: text(weightedAverage(entered, trade.entryPrice, qty, fill.price)),
      fees: text(new Dec(trade.fees).plus(fill.commission)),
    },
    openedTrade: false,
    closedTrade: null,
    realized: '0',
  };
}

/**
 * Opposite direction: the closing part realizes against the unchanged average cost; reaching zero closes the trade,
 * and a remainder past zero opens the next trade at the fill price with the rest of the commission.
 */
function reduce(
  held: Big,
  avg: string,
  trade: OpenTradeState,
  qty: Big,
  signed: Big,
  fill: FillInput,
  multiplier: string,
): FillEffect {
  const closing = qty.lt(held.abs()) ? qty : held.abs();
  const direction = held.gt(0) ? 1 : -1;
  const realized = new Dec(fill.price).minus(avg).times(closing).times(multiplier).times(direction);
  const commission = new Dec(fill.commission);
  const closingFees = closing.eq(qty)
    ? commission
    : commission.times(closing).div(qty).round(STORED_SCALE, Big.roundHalfUp);
  const reduced: OpenTradeState = {
    ...trade,
    exitQuantity: text(new Dec(trade.exitQuantity).plus(closing)),
    exitNotional: text(new Dec(trade.exitNotional).plus(closing.times(fill.price))),
    realizedGross: text(new Dec(trade.realizedGross).plus(realized)),
    fees: text(new Dec(trade.fees).plus(closingFees)),
  };
  const after = held.plus(signed);
  if (!after.eq(0) && after.gt(0) === held.gt(0)) {
    return {
      position: { quantity: text(after), avgEntryPrice: avg },
      trade: reduced,
      openedTrade: false,
      closedTrade: null,
      realized: text(realized),
    };
  }
  const closedTrade = close(reduced, fill.filledAt, multiplier);
  if (after.eq(0)) {
    return {
      position: { quantity: '0', avgEntryPrice: '0' },
      trade: null,
      openedTrade: false,
      closedTrade,
      realized: text(realized),
    };
  }
  return { ...open(after, fill, text(commission.minus(closingFees))), closedTrade, realized: text(realized) };
}

/** pnl = realized gross − fees; pnl% is pnl over the entry notional (entry price × quantity × multiplier). */
function close(trade: OpenTradeState, exitDate: Date, multiplier: string): ClosedTrade {
  const pnl = new Dec(trade.realizedGross).minus(trade.fees);
  const basis = new Dec(trade.entryPrice).times(trade.quantity).times(multiplier);
  return {
    ...trade,
    exitPrice: text(new Dec(trade.exitNotional).div(trade.exitQuantity)),
    exitDate,
    pnl: text(pnl),
    pnlPercent: basis.eq(0) ? '0' : text(pnl.times(100).div(basis)),
  };
}

function weightedAverage(qtyA: Big, priceA: string, qtyB: Big, priceB: string): Big {
  return qtyA.times(priceA).plus(qtyB.times(priceB)).div(qtyA.plus(qtyB));
}

/** The columns of an open trade row that `OpenTradeState` is rebuilt from (all as stored). */
export interface StoredOpenTrade {
  side: 'long' | 'short';
  quantity: string;
  entryPrice: string;
  exitPrice: string | null;
  pnl: string | null;
  fees: string;
  entryDate: Date;
}

/**
 * An open trade as a row stores it: the exit price and the net P&L so far, null until something was exited. With
 * `fromStored` this is the whole persisted state of a trade between fills.
 */
export function toStoredTrade(trade: OpenTradeState): Omit<StoredOpenTrade, 'side' | 'entryDate'> {
  const exited = !new Dec(trade.exitQuantity).eq(0);
  return {
    quantity: toStored(trade.quantity),
    entryPrice: toStored(trade.entryPrice),
    exitPrice: exited ? toStored(new Dec(trade.exitNotional).div(trade.exitQuantity).toFixed()) : null,
    pnl: exited ? toStored(new Dec(trade.realizedGross).minus(trade.fees).toFixed()) : null,
    fees: toStored(trade.fees),
  };
}

/**
 * Rebuilds the open trade from its row and the position: what was exited is what was entered minus what is still
 * held, the exit notional is that times the average exit price, and the realized gross is the net P&L plus fees.
 * Exact up to the 8-decimal rounding of the stored averages.
 */
export function fromStoredTrade(row: StoredOpenTrade, positionQuantity: string): OpenTradeState {
  const exitQuantity = new Dec(row.quantity).minus(new Dec(positionQuantity).abs());
  if (exitQuantity.lt(0)) throw new Error('books disagree: the position is larger than its trade');
  return {
    side: row.side,
    quantity: canonical(row.quantity),
    entryPrice: canonical(row.entryPrice),
    exitQuantity: text(exitQuantity),
    exitNotional: text(exitQuantity.times(row.exitPrice ?? '0')),
    realizedGross: row.pnl === null ? '0' : text(new Dec(row.pnl).plus(row.fees)),
    fees: canonical(row.fees),
    entryDate: row.entryDate,
  };
}

/** `numerator / denominator` (20 decimals, half-up), for averages outside the position itself. */
export function divide(numerator: string, denominator: string): string {
  return text(new Dec(numerator).div(denominator));
}

export function isAtLeast(value: string, bound: string): boolean {
  return new Dec(value).gte(bound);
}
