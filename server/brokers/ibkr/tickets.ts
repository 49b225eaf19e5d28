/**
 * OrderRequest → IBKR order tickets (BROKERS.md §3.4): one order, or one bracket per request. The parent carries
 * the cOID (our client order id, the idempotency key); exit legs carry `parentId` = that cOID and no cOID of their
 * own. STP sends its trigger in `price`; STOP_LIMIT sends the limit in `price` and the trigger in `auxPrice`.
 */
import { BrokerRejected } from '../errors.ts';
import type { BrokerOrder, Decimal, OrderKind, OrderRequest, OrderSide, TimeInForce } from '../types.ts';

export interface Ticket {
  acctId: string;
  conid: number;
  cOID?: string;
  parentId?: string;
  orderType: string;
  side: 'BUY' | 'SELL';
  quantity: number;
  price?: number;
  auxPrice?: number;
  tif: string;
}

/** IBKR's ticket TIFs are DAY, GTC, IOC, OPG, PAX: no fill-or-kill; "at the close" is the MOC/LOC order type. */
const TIF: Partial<Record<TimeInForce, string>> = { day: 'DAY', gtc: 'GTC', ioc: 'IOC', opg: 'OPG', cls: 'DAY' };

/** Exit legs stay GTC: a DAY exit would leave a position that outlives the day unprotected. */
const EXIT_TIF = 'GTC';

function numberOf(value: Decimal | undefined, field: string): number {
  const number = value === undefined ? Number.NaN : Number(value);
  if (!Number.isFinite(number)) throw new BrokerRejected(`IBKR order needs a valid ${field}`);
  return number;
}

function typed(kind: OrderKind, atClose: boolean): string {
  if (atClose) {
    if (kind === 'market') return 'MOC';
    if (kind === 'limit') return 'LOC';
    throw new BrokerRejected(`IBKR supports "at the close" only for market and limit orders, not ${kind}`);
  }
  return { market: 'MKT', limit: 'LMT', stop: 'STP', stop_limit: 'STOP_LIMIT' }[kind];
}

function priced(kind: OrderKind, limit: Decimal | undefined, stop: Decimal | undefined) {
  switch (kind) {
    case 'limit':
      return { price: numberOf(limit, 'limit price') };
    case 'stop':
      return { price: numberOf(stop, 'stop price') };
    case 'stop_limit':
      return { price: numberOf(limit, 'limit price'), auxPrice: numberOf(stop, 'stop price') };
    default:
      return {};
  }
}

export function ticketsFor(order: OrderRequest, accountId: string, conid: number): Ticket[] {
  const tif = TIF[order.timeInForce];
  if (!tif) throw new BrokerRejected(`IBKR does not support time in force ${order.timeInForce}`);
  const quantity = numberOf(order.quantity, 'quantity');
  const side = order.side === 'buy' ? 'BUY' : 'SELL';
  const exitSide = order.side === 'buy' ? 'SELL' : 'BUY';
  const parent: Ticket = {
    acctId: accountId,
    conid,
    cOID: order.clientOrderId,
    orderType: typed(order.orderType, order.timeInForce === 'cls'),
    side,
    quantity,
    ...priced(order.orderType, order.limitPrice, order.stopPrice),
    tif,
  };
  const exit = (kind: OrderKind, limit: Decimal | undefined, stop: Decimal | undefined): Ticket => ({
    acctId: accountId,
    conid,
    parentId: order.clientOrderId,
    orderType: typed(kind, false),
    side: exitSide,
    quantity,
    ...priced(kind, limit, stop),
    tif: EXIT_TIF,
  });
  const tickets = [parent];
  if (order.takeProfit) tickets.push(exit('limit', order.takeProfit.limitPrice, undefined));
  if (order.stopLoss) {
    const { stopPrice, limitPrice } = order.stopLoss;
    tickets.push(exit(limitPrice === undefined ? 'stop' : 'stop_limit', limitPrice, stopPrice));
  }
  return tickets;
}

/** The order as acknowledged (ids and statuses from the acknowledgement, the rest as requested). */
export function acknowledgedOrder(
  order: OrderRequest,
  acks: Array<{ orderId: string; status: string }>,
  statusOf: (brokerStatus: string) => BrokerOrder['status'],
): BrokerOrder {
  const now = new Date();
  const base = (side: OrderSide, kind: OrderKind, ack: { orderId: string; status: string }): BrokerOrder => ({
    brokerOrderId: ack.orderId,
    clientOrderId: null,
    symbol: order.symbol,
    side,
    quantity: order.quantity,
    orderType: kind,
    status: statusOf(ack.status),
    brokerStatus: ack.status,
    filledQty: '0',
    avgFillPrice: null,
    limitPrice: null,
    stopPrice: null,
    submittedAt: now,
    updatedAt: now,
  });
  const [parentAck, ...legAcks] = acks;
  const parent: BrokerOrder = {
    ...base(order.side, order.orderType, parentAck ?? { orderId: '', status: 'Submitted' }),
    clientOrderId: order.clientOrderId,
    limitPrice: order.orderType === 'limit' || order.orderType === 'stop_limit' ? (order.limitPrice ?? null) : null,
    stopPrice: order.orderType === 'stop' || order.orderType === 'stop_limit' ? (order.stopPrice ?? null) : null,
  };
  const exitSide: OrderSide = order.side === 'buy' ? 'sell' : 'buy';
  const legs: BrokerOrder[] = [];
  const [first, second] = legAcks;
  if (order.takeProfit && first) {
    legs.push({ ...base(exitSide, 'limit', first), limitPrice: order.takeProfit.limitPrice });
  }
  const stopAck = order.takeProfit ? second : first;
  if (order.stopLoss && stopAck) {
    const { stopPrice, limitPrice } = order.stopLoss;
    legs.push({
      ...base(exitSide, limitPrice === undefined ? 'stop' : 'stop_limit', stopAck),
      limitPrice: limitPrice ?? null,
      stopPrice,
    });
  }
  return legs.length > 0 ? { ...parent, legs } : parent;
}
