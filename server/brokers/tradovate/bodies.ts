/**
 * PlaceOrder and PlaceOSO bodies (BROKERS.md §2.3). Tradovate takes prices as JSON numbers (doubles); our exact
 * decimal strings convert through their shortest text form. A bracket is an OSO: the entry plus `bracket1` (the
 * take-profit limit, or the stop when there is no take-profit) and `bracket2` (the stop-loss); the brackets carry
 * no quantity (they inherit the entry's) and act as an OCO pair once the entry fills.
 */
import { Big } from 'big.js';
import { BrokerRejected } from '../errors.ts';
import type { OrderRequest } from '../types.ts';
import type { Terms } from './mapping.ts';

export interface TradovateAccountRef {
  id: number;
  name: string;
}

export const ACTIONS = { buy: 'Buy', sell: 'Sell' } as const;
const TYPES = { market: 'Market', limit: 'Limit', stop: 'Stop', stop_limit: 'StopLimit' } as const;
const TIFS: Record<string, string> = { day: 'Day', gtc: 'GTC', ioc: 'IOC', fok: 'FOK' };
const LIMIT_TYPES = new Set(['Limit', 'StopLimit']);
const STOP_TYPES = new Set(['Stop', 'StopLimit']);

/** The price fields an order type uses, and no others (a market order never carries a stray limit price). */
function prices(orderType: string, limit: string | undefined, stop: string | undefined): Record<string, number> {
  return {
    ...(LIMIT_TYPES.has(orderType) && limit !== undefined ? { price: Number(limit) } : {}),
    ...(STOP_TYPES.has(orderType) && stop !== undefined ? { stopPrice: Number(stop) } : {}),
  };
}

function termsFor(quantity: string, orderType: string, limit: string | undefined, stop: string | undefined): Terms {
  return {
    quantity,
    orderType,
    price: LIMIT_TYPES.has(orderType) ? (limit ?? null) : null,
    stopPrice: STOP_TYPES.has(orderType) ? (stop ?? null) : null,
  };
}

export interface Placement {
  path: '/order/placeorder' | '/order/placeoso';
  body: Record<string, unknown>;
  /** The terms we sent, which describe the orders until Tradovate's own OrderVersion is read. */
  entry: Terms;
  /** Exit legs in the order of the reply's oso1Id / oso2Id. */
  legs: Array<{ clientOrderId: string; terms: Terms }>;
}

function wholeContracts(quantity: string): string {
  let parsed: Big;
  try {
    parsed = new Big(quantity);
  } catch {
    parsed = new Big(0);
  }
  if (parsed.lte(0) || !parsed.eq(parsed.round(0, Big.roundDown))) {
    throw new BrokerRejected(`Tradovate trades whole contracts; ${quantity} is not a positive whole number`);
  }
  return parsed.toFixed();
}

export function placement(order: OrderRequest, account: TradovateAccountRef): Placement {
  const qty = wholeContracts(order.quantity);
  const timeInForce = TIFS[order.timeInForce];
  if (!timeInForce) throw new BrokerRejected(`Tradovate has no "${order.timeInForce}" time in force`);
  const orderType = TYPES[order.orderType];
  const body: Record<string, unknown> = {
    accountSpec: account.name,
    accountId: account.id,
    clOrdId: order.clientOrderId,
    action: ACTIONS[order.side],
    symbol: order.symbol,
    orderQty: Number(qty),
    orderType,
    ...prices(orderType, order.limitPrice, order.stopPrice),
    timeInForce,
    // Tradovate requires this flag on every order not placed by a person.
    isAutomated: true,
  };
  const entry = termsFor(qty, orderType, order.limitPrice, order.stopPrice);
  const action = order.side === 'buy' ? 'Sell' : 'Buy';
  // Exits rest until hit: an IOC/FOK entry must not make them immediate-or-cancel too.
  const exitTif = timeInForce === 'GTC' ? 'GTC' : 'Day';
  const legs: Placement['legs'] = [];
  const brackets: Record<string, unknown>[] = [];
  const exit = (suffix: string, type: string, limit: string | undefined, stop: string | undefined) => {
    const clOrdId = `${order.clientOrderId}-${suffix}`;
    brackets.push({ action, orderType: type, ...prices(type, limit, stop), timeInForce: exitTif, clOrdId });
    legs.push({ clientOrderId: clOrdId, terms: termsFor(qty, type, limit, stop) });
  };
  if (order.takeProfit) exit('tp', 'Limit', order.takeProfit.limitPrice, undefined);
  if (order.stopLoss) {
    const { stopPrice, limitPrice } = order.stopLoss;
    exit('sl', limitPrice === undefined ? 'Stop' : 'StopLimit', limitPrice, stopPrice);
  }
  const [bracket1, bracket2] = brackets;
  if (!bracket1) return { path: '/order/placeorder', body, entry, legs };
  return { path: '/order/placeoso', body: { ...body, bracket1, ...(bracket2 ? { bracket2 } : {}) }, entry, legs };
}
