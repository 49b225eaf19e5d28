/**
 * An average-cost book of one (strategy, connection, symbol), written from SPEC §5 and apart from the server's own
 * position math, to check the books Fillpath keeps against the fills they were built from. Signed position,
 * realized P&L = (exit price − average cost) × closed quantity × instrument multiplier (negated for a short),
 * fees from the fills' commissions; a trade opens when the position leaves flat and closes when it returns to flat;
 * a fill that crosses zero closes the trade with its share of the quantity (and of the commission, rounded to the
 * columns' 8 decimals) and opens the next with the rest.
 *
 * Storage precision is part of the contract: averages live in decimal(20,8) columns and each fill starts from what
 * the previous one stored, so the position's average cost and the trade's entry price are carried at 8 decimals,
 * rounded half-up. Everything else is exact.
 */
import { Big } from 'big.js';

/** Independent of the global Big settings: 40 places for divisions before the one rounding to the columns' 8. */
const Exact = Big();
Exact.DP = 40;
Exact.RM = Big.roundHalfUp;
const SCALE = 8;
const atScale = (value: Big): Big => value.round(SCALE, Big.roundHalfUp);
const ZERO = new Exact(0);

export interface BookFill {
  side: 'buy' | 'sell';
  quantity: string;
  price: string;
  commission: string;
}

export interface BookTrade {
  side: 'long' | 'short';
  open: boolean;
  /** Everything entered, and its average price (at 8 decimals, as stored). */
  entered: Big;
  entryPrice: Big;
  exited: Big;
  exitNotional: Big;
  /** Realized before fees, multiplier applied. */
  gross: Big;
  fees: Big;
}

/** Net realized P&L of a trade so far; null while nothing of it has been exited (as the trades row shows it). */
export function tradePnl(trade: BookTrade): Big | null {
  return trade.exited.eq(0) ? null : trade.gross.minus(trade.fees);
}

export class AverageCostBook {
  /** Signed: negative is short. */
  position: Big = ZERO;
  /** Average cost of the open quantity, 0 when flat. */
  average: Big = ZERO;
  readonly trades: BookTrade[] = [];
  readonly #multiplier: Big;

  constructor(multiplier: string) {
    this.#multiplier = new Exact(multiplier);
  }

  apply(fill: BookFill): void {
    const quantity = new Exact(fill.quantity);
    if (quantity.lte(0)) throw new RangeError(`fill quantity must be positive, got ${fill.quantity}`);
    const direction = fill.side === 'buy' ? 1 : -1;
    const price = new Exact(fill.price);
    let commission = new Exact(fill.commission);
    let rest = quantity;

    const held = this.position.abs();
    const reducing = !this.position.eq(0) && this.position.gt(0) !== direction > 0;
    if (reducing) {
      const trade = this.#openTrade();
      const closing = quantity.lt(held) ? quantity : held;
      const longSign = this.position.gt(0) ? 1 : -1;
      const share = closing.eq(quantity) ? commission : atScale(commission.times(closing).div(quantity));
      trade.exited = trade.exited.plus(closing);
      trade.exitNotional = trade.exitNotional.plus(closing.times(price));
      trade.gross = trade.gross.plus(price.minus(this.average).times(closing).times(this.#multiplier).times(longSign));
      trade.fees = trade.fees.plus(share);
      this.position = this.position.plus(closing.times(direction));
      rest = quantity.minus(closing);
      commission = commission.minus(share);
      if (this.position.eq(0)) {
        trade.open = false;
        this.average = ZERO;
      }
    }
    if (rest.eq(0)) return;

    if (this.position.eq(0)) {
      this.trades.push({
        side: direction > 0 ? 'long' : 'short',
        open: true,
        entered: rest,
        entryPrice: atScale(price),
        exited: ZERO,
        exitNotional: ZERO,
        gross: ZERO,
        fees: commission,
      });
      this.average = atScale(price);
    } else {
      const trade = this.#openTrade();
      const size = this.position.abs();
      this.average = atScale(size.times(this.average).plus(rest.times(price)).div(size.plus(rest)));
      trade.entryPrice = atScale(
        trade.entered.times(trade.entryPrice).plus(rest.times(price)).div(trade.entered.plus(rest)),
      );
      trade.entered = trade.entered.plus(rest);
      trade.fees = trade.fees.plus(commission);
    }
    this.position = this.position.plus(rest.times(direction));
  }

  /** Net realized P&L of every trade so far (open ones count what they exited). */
  realized(): Big {
    return this.trades.reduce((sum, trade) => sum.plus(tradePnl(trade) ?? ZERO), ZERO);
  }

  #openTrade(): BookTrade {
    const trade = this.trades.at(-1);
    if (!trade?.open) throw new Error('the position is open but the book has no open trade');
    return trade;
  }
}
