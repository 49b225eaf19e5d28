/** Account-level checks on a new Alpaca order: duplicates, forced rejections, shares available, buying power. */
import { big, cmp, isZero, mul, sub } from '../common/decimal.ts';
import type { FakeResponse } from '../common/http.ts';
import { accountFigures, alpacaError, heldForOrders, invalid } from './render.ts';
import type { AlpacaState } from './types.ts';

export interface ExposureRequest {
  symbol: string;
  side: 'buy' | 'sell';
  qty: string;
  /** Limit (or stop) price of the order; null for market orders. */
  price: string | null;
  notional?: string | null;
}

export function duplicateClientId(state: AlpacaState, account: string, clientOrderId: string): FakeResponse | null {
  const taken = state.engine.orders.some((o) => o.account === account && o.ext.clientOrderId === clientOrderId);
  return taken ? invalid('client_order_id must be unique') : null;
}

/** A rejection armed with rejectNextOrder(), consumed by the next order that passes validation. */
export function forcedReject(state: AlpacaState): FakeResponse | null {
  const next = state.forcedRejects.shift();
  return next ? { status: next.status, json: next.body } : null;
}

/**
 * 403s of BROKERS.md §1.6: trading blocked; an order that would take more shares than are free (held by open orders
 * or flipping long to short); shorting disabled; buying power below the cost of the part that opens exposure.
 */
export function exposureCheck(state: AlpacaState, account: string, r: ExposureRequest): FakeResponse | null {
  if (state.config.tradingBlocked) return alpacaError(403, 40310000, 'account is not authorized to trade');
  const position = state.engine.account(account).positions.get(r.symbol)?.qty ?? '0';
  const reducing = r.side === 'sell' ? big(position).gt(0) : big(position).lt(0);
  let opening = r.qty;
  if (reducing) {
    const held = heldForOrders(state, account, r.symbol, r.side);
    const existing = big(position).abs().toFixed();
    const available = sub(existing, held.qty);
    if (cmp(r.qty, available) > 0) {
      return alpacaError(
        403,
        40310000,
        `insufficient qty available for order (requested: ${r.qty}, available: ${available})`,
        { symbol: r.symbol, existing_qty: existing, held_for_orders: held.qty, related_orders: held.ids },
      );
    }
    opening = '0';
  } else if (r.side === 'sell' && (!state.config.shortingEnabled || r.symbol.includes('/'))) {
    return alpacaError(403, 40310000, 'account is not allowed to short');
  }
  if (isZero(opening)) return null;
  const mark = state.engine.mark(r.symbol) ?? '0';
  const cost = r.notional ?? mul(opening, r.price ?? mark);
  const { buyingPower } = accountFigures(state, account);
  return cmp(cost, buyingPower) > 0 ? alpacaError(403, 40310000, 'insufficient buying power') : null;
}
