/** IBKR order tickets (BROKERS.md §3.4): parsing, and the statuses and labels the gateway renders. */
import { isZero, parseDecimal } from '../common/decimal.ts';
import type { EngineOrder, OrderKind } from '../common/engine.ts';
import { bool, intLike, isRecord, type JsonObject, str } from '../common/json.ts';
import type { IbkrContract, IbkrExt, IbkrState, Ticket } from './types.ts';

const ORDER_TYPES: Record<string, { kind: OrderKind; label: string; orig: string }> = {
  MKT: { kind: 'market', label: 'Market', orig: 'MARKET' },
  LMT: { kind: 'limit', label: 'Limit', orig: 'LIMIT' },
  STP: { kind: 'stop', label: 'Stop', orig: 'STOP' },
  STOP_LIMIT: { kind: 'stop_limit', label: 'Stop Limit', orig: 'STOP_LIMIT' },
  MIDPRICE: { kind: 'market', label: 'Midprice', orig: 'MIDPRICE' },
  TRAIL: { kind: 'other', label: 'Trailing Stop', orig: 'TRAILING_STOP' },
  TRAILLMT: { kind: 'other', label: 'Trailing Stop Limit', orig: 'TRAILING_STOP_LIMIT' },
  MOC: { kind: 'other', label: 'Market on Close', orig: 'MARKET_ON_CLOSE' },
  LOC: { kind: 'other', label: 'Limit on Close', orig: 'LIMIT_ON_CLOSE' },
};
const TIFS = ['DAY', 'GTC', 'IOC', 'OPG', 'PAX'];

export function orderTypeInfo(code: string) {
  return ORDER_TYPES[code] ?? { kind: 'other' as const, label: code, orig: code };
}

export function parseTicket(state: IbkrState, raw: unknown, accountId: string): Ticket | string {
  if (!isRecord(raw)) return 'each order must be an object';
  const conidex = str(raw, 'conidex');
  const conid = intLike(raw.conid) ?? (conidex ? intLike(conidex.split('@')[0]) : undefined);
  if (conid === undefined) return 'conid is required';
  const contract = state.contracts.find((c) => c.conid === conid);
  if (!contract) return `Contract ${conid} not found`;
  const orderType = str(raw, 'orderType');
  if (!orderType || !(orderType in ORDER_TYPES)) return `Invalid order type: ${String(raw.orderType)}`;
  const side = raw.side;
  if (side !== 'BUY' && side !== 'SELL') return `Invalid side: ${String(side)}. Side must be BUY or SELL`;
  const quantity = parseDecimal(raw.quantity);
  if (quantity === null || isZero(quantity) || quantity.startsWith('-')) return 'quantity must be positive';
  const tif = str(raw, 'tif');
  if (!tif || !TIFS.includes(tif)) return `Invalid tif: ${String(raw.tif)}`;
  const price = raw.price === undefined || raw.price === null ? null : parseDecimal(raw.price);
  const auxPrice = raw.auxPrice === undefined || raw.auxPrice === null ? null : parseDecimal(raw.auxPrice);
  if (['LMT', 'STP', 'STOP_LIMIT', 'LOC'].includes(orderType) && price === null) {
    return `price is required for ${orderType} orders`;
  }
  if (orderType === 'STOP_LIMIT' && auxPrice === null) return 'auxPrice is required for STOP_LIMIT orders';
  if ((orderType === 'TRAIL' || orderType === 'TRAILLMT') && raw.trailingAmt === undefined) {
    return 'trailingAmt and trailingType are required for trailing orders';
  }
  const acctId = str(raw, 'acctId') ?? accountId;
  if (acctId !== accountId) return `acctId ${acctId} does not match the account in the path`;
  return {
    contract,
    orderType,
    side,
    quantity,
    tif,
    price,
    auxPrice,
    acctId,
    cOID: str(raw, 'cOID') ?? null,
    parentId: str(raw, 'parentId') ?? null,
    isSingleGroup: bool(raw as JsonObject, 'isSingleGroup') ?? false,
    outsideRTH: bool(raw as JsonObject, 'outsideRTH') ?? false,
  };
}

/** One order, one bracket (children's parentId = parent cOID) or one OCA group per request. */
export function checkGroup(tickets: Ticket[]): string | null {
  if (tickets.length <= 1) return null;
  const [parent, ...rest] = tickets;
  if (parent?.cOID && rest.every((t) => t.parentId === parent.cOID)) return null;
  if (tickets.every((t) => t.isSingleGroup)) return null;
  return 'Send one order, or one bracket/OCA group, per request';
}

/** Engine price fields from a ticket: STP's trigger is `price`; STOP_LIMIT's limit is `price`, trigger `auxPrice`. */
export function enginePrices(t: Pick<Ticket, 'orderType' | 'price' | 'auxPrice'>) {
  switch (t.orderType) {
    case 'STP':
      return { limitPrice: null, stopPrice: t.price };
    case 'STOP_LIMIT':
      return { limitPrice: t.price, stopPrice: t.auxPrice };
    case 'MIDPRICE':
      return { limitPrice: t.price, stopPrice: null };
    default:
      return { limitPrice: t.price, stopPrice: null };
  }
}

export function ibStatus(order: EngineOrder<IbkrExt>): string {
  switch (order.status) {
    case 'held':
      return 'PreSubmitted';
    case 'working':
      return (order.kind === 'stop' || order.kind === 'stop_limit') && !order.triggered ? 'PreSubmitted' : 'Submitted';
    case 'filled':
      return 'Filled';
    case 'rejected':
      return 'Inactive';
    default:
      return 'Cancelled';
  }
}

export const SNAKE: Record<string, string> = {
  PendingSubmit: 'pending_submit',
  PreSubmitted: 'pre_submitted',
  Submitted: 'submitted',
  Filled: 'filled',
  Cancelled: 'cancelled',
  PendingCancel: 'pending_cancel',
  Inactive: 'inactive',
  WarnState: 'warn_state',
};

export function contractOf(state: IbkrState, order: EngineOrder<IbkrExt>): IbkrContract {
  const contract = state.contracts.find((c) => c.conid === order.ext.conid);
  if (!contract) throw new Error(`no contract ${order.ext.conid}`);
  return contract;
}
