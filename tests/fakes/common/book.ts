/**
 * Cash and positions of one fake account. Positions carry a signed quantity and the average price of the open
 * quantity; a fill that reduces a position realises P&L, one that crosses zero reopens the rest at the fill price.
 * 'cash' accounting (stocks) moves the full notional through cash; 'futures' accounting moves only realised P&L.
 */
import { add, big, div, fmt, isZero, mul, neg, sign, sub } from './decimal.ts';

export type Accounting = 'cash' | 'futures';
export type Side = 'buy' | 'sell';

export interface PositionBook {
  symbol: string;
  /** Signed: negative is short. */
  qty: string;
  /** Average price of the open quantity ("0" when flat). */
  avgPrice: string;
  /** Realised P&L in money (multiplier applied). */
  realized: string;
  /** Quantities and qty×price values bought and sold (Tradovate's bought/boughtValue/sold/soldValue). */
  bought: string;
  boughtValue: string;
  sold: string;
  soldValue: string;
  openedAt: number;
  updatedAt: number;
}

export interface AccountBook {
  id: string;
  cash: string;
  startCash: string;
  realized: string;
  positions: Map<string, PositionBook>;
}

export function newAccount(id: string, cash: string): AccountBook {
  return { id, cash, startCash: cash, realized: '0', positions: new Map() };
}

export function applyFill(
  account: AccountBook,
  fill: { symbol: string; side: Side; qty: string; price: string; at: number },
  multiplier: string,
  accounting: Accounting,
): void {
  const pos = account.positions.get(fill.symbol) ?? {
    symbol: fill.symbol,
    qty: '0',
    avgPrice: '0',
    realized: '0',
    bought: '0',
    boughtValue: '0',
    sold: '0',
    soldValue: '0',
    openedAt: fill.at,
    updatedAt: fill.at,
  };
  const signed = fill.side === 'buy' ? fill.qty : neg(fill.qty);
  const before = pos.qty;
  const after = add(before, signed);
  let realized = '0';
  if (isZero(before) || sign(before) === sign(signed)) {
    // Opening or adding: the average moves towards the fill price.
    const openValue = add(mul(big(before).abs(), pos.avgPrice), mul(fill.qty, fill.price));
    pos.avgPrice = div(openValue, big(after).abs());
    if (isZero(before)) pos.openedAt = fill.at;
  } else {
    const closing = big(fill.qty).lt(big(before).abs()) ? fill.qty : big(before).abs().toFixed();
    realized = mul(mul(sub(fill.price, pos.avgPrice), closing), sign(before) === 1 ? multiplier : neg(multiplier));
    if (isZero(after)) pos.avgPrice = '0';
    else if (sign(after) !== sign(before)) {
      pos.avgPrice = fill.price;
      pos.openedAt = fill.at;
    }
  }
  pos.qty = after;
  pos.realized = add(pos.realized, realized);
  account.realized = add(account.realized, realized);
  if (fill.side === 'buy') {
    pos.bought = add(pos.bought, fill.qty);
    pos.boughtValue = add(pos.boughtValue, mul(fill.qty, fill.price));
  } else {
    pos.sold = add(pos.sold, fill.qty);
    pos.soldValue = add(pos.soldValue, mul(fill.qty, fill.price));
  }
  pos.updatedAt = fill.at;
  account.positions.set(fill.symbol, pos);
  account.cash =
    accounting === 'cash' ? sub(account.cash, mul(mul(signed, fill.price), multiplier)) : add(account.cash, realized);
}

export interface AccountMetrics {
  cash: string;
  longMarketValue: string;
  /** Negative or zero. */
  shortMarketValue: string;
  grossMarketValue: string;
  unrealized: string;
  realized: string;
  /** Cash accounting: cash + market value. Futures: cash + open P&L (net liquidation). */
  equity: string;
}

export function accountMetrics(
  account: AccountBook,
  markOf: (symbol: string) => string | null,
  multiplierOf: (symbol: string) => string,
  accounting: Accounting,
): AccountMetrics {
  let long = big(0);
  let short = big(0);
  let unrealized = big(0);
  for (const pos of account.positions.values()) {
    if (isZero(pos.qty)) continue;
    const mark = markOf(pos.symbol) ?? pos.avgPrice;
    const mult = multiplierOf(pos.symbol);
    const value = big(pos.qty).times(mark).times(mult);
    if (sign(pos.qty) > 0) long = long.plus(value);
    else short = short.plus(value);
    unrealized = unrealized.plus(big(mark).minus(pos.avgPrice).times(pos.qty).times(mult));
  }
  const equity = accounting === 'cash' ? big(account.cash).plus(long).plus(short) : big(account.cash).plus(unrealized);
  return {
    cash: fmt(account.cash),
    longMarketValue: fmt(long),
    shortMarketValue: fmt(short),
    grossMarketValue: fmt(long.minus(short)),
    unrealized: fmt(unrealized),
    realized: fmt(account.realized),
    equity: fmt(equity),
  };
}

export function openPositions(account: AccountBook): PositionBook[] {
  return [...account.positions.values()].filter((p) => !isZero(p.qty));
}
