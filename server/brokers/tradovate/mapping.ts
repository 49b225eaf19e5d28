/**
 * Tradovate entities (BROKERS.md §2.4) to the normalized types. An Order carries no quantity, price or clOrdId:
 * those come from its latest OrderVersion and its New Command, and fill quantities from its Fill rows, which is also
 * how `partially_filled` and the [U] `Completed` status are decided (§4).
 */
import { Big } from 'big.js';
import { asRecord, decimalOf } from '../http.ts';
import type { BrokerFill, BrokerOrder, BrokerPosition, CommonOrderStatus, OrderKind } from '../types.ts';

export type Row = Record<string, unknown>;

export const rows = (json: unknown): Row[] => (Array.isArray(json) ? json.map(asRecord) : []);

/** Entity ids are longs; they travel as JSON numbers and come back to us as strings. */
export function idOf(value: unknown): number | null {
  const n = typeof value === 'string' && /^\d{1,18}$/.test(value.trim()) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : null;
}

export function dateOf(value: unknown): Date | null {
  if (typeof value !== 'string' || value === '') return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms) : null;
}

/** Statuses with nothing left to happen; everything else is an open order. */
const TERMINAL = new Set(['Filled', 'Completed', 'Canceled', 'Expired', 'Rejected']);
export const isOpenStatus = (ordStatus: unknown): boolean => typeof ordStatus === 'string' && !TERMINAL.has(ordStatus);
/** Orders that cannot have fills yet, so their Fill rows need not be read. */
const UNFILLED = new Set(['PendingNew', 'Unknown', 'Suspended', 'Rejected']);
export const mayHaveFills = (ordStatus: unknown): boolean =>
  !(typeof ordStatus === 'string' && UNFILLED.has(ordStatus));

/** §4: Tradovate ordStatus and fill quantities to the common status. */
export function commonStatus(ordStatus: string, filledQty: string, orderQty: string | null): CommonOrderStatus {
  const filled = new Big(filledQty);
  const complete = orderQty !== null && new Big(orderQty).gt(0) && filled.gte(orderQty);
  switch (ordStatus) {
    case 'PendingNew':
      return 'submitted';
    // Still live at the broker: only its own terminal status ends it, whatever the fills add up to.
    case 'Working':
    case 'PendingCancel':
    case 'PendingReplace':
    case 'Suspended':
      return filled.gt(0) ? 'partially_filled' : 'accepted';
    case 'Filled':
      return 'filled';
    // [U] Completed ends an order either way: filled when the fills reach its quantity, otherwise cancelled.
    case 'Completed':
      return complete ? 'filled' : 'cancelled';
    case 'Canceled':
      return 'cancelled';
    case 'Expired':
      return 'expired';
    case 'Rejected':
      return 'rejected';
    default:
      return 'pending';
  }
}

/** Order types beyond our four are shown as their nearest kind (only orders placed elsewhere have them). */
const KINDS: Record<string, OrderKind> = {
  Market: 'market',
  Limit: 'limit',
  Stop: 'stop',
  StopLimit: 'stop_limit',
  MIT: 'limit',
  QTS: 'market',
  TrailingStop: 'stop',
  TrailingStopLimit: 'stop_limit',
};

/** What an order's terms are, from its latest OrderVersion (or from our own request, right after placing it). */
export interface Terms {
  quantity: string | null;
  orderType: string;
  price: string | null;
  stopPrice: string | null;
}

export function termsOf(versions: Row[]): Terms | null {
  const latest = versions.reduce<Row | null>(
    (best, v) => ((idOf(v.id) ?? 0) >= (idOf(best?.id) ?? 0) ? v : best),
    null,
  );
  if (!latest) return null;
  return {
    quantity: decimalOf(latest.orderQty),
    orderType: typeof latest.orderType === 'string' ? latest.orderType : 'Market',
    price: decimalOf(latest.price),
    stopPrice: decimalOf(latest.stopPrice),
  };
}

/** The clOrdId of an order's New command (the only place Tradovate keeps it). */
export function clOrdIdOf(commands: Row[]): string | null {
  const created = commands.find((c) => (c.commandType ?? 'New') === 'New' && typeof c.clOrdId === 'string');
  return typeof created?.clOrdId === 'string' ? created.clOrdId : null;
}

export function fillsOf(fillRows: Row[]): BrokerFill[] {
  const fills: BrokerFill[] = [];
  for (const f of fillRows) {
    const quantity = decimalOf(f.qty);
    const price = decimalOf(f.price);
    // Inactive fills were busted or corrected by the exchange: they no longer count.
    if (f.active === false || f.id === undefined || quantity === null || price === null) continue;
    fills.push({ brokerFillId: String(f.id), quantity, price, filledAt: dateOf(f.timestamp) ?? new Date(0) });
  }
  return fills.sort(
    (a, b) => a.filledAt.getTime() - b.filledAt.getTime() || a.brokerFillId.localeCompare(b.brokerFillId),
  );
}

export interface OrderParts {
  order: Row;
  symbol: string;
  terms: Terms | null;
  fills: BrokerFill[];
  clientOrderId: string | null;
  /** Timestamps of the order's commands (a cancel is the latest change an Order row does not show). */
  commandTimes?: Array<Date | null>;
  reason?: string | undefined;
}

export function composeOrder(parts: OrderParts): BrokerOrder {
  const { order, terms, fills } = parts;
  const ordStatus = typeof order.ordStatus === 'string' ? order.ordStatus : 'Unknown';
  let filled = new Big(0);
  let value = new Big(0);
  for (const f of fills) {
    filled = filled.plus(f.quantity);
    value = value.plus(new Big(f.quantity).times(f.price));
  }
  const filledQty = filled.toFixed();
  const quantity = terms?.quantity ?? filledQty;
  const submittedAt = dateOf(order.timestamp);
  const times = [submittedAt, ...fills.map((f) => f.filledAt), ...(parts.commandTimes ?? [])];
  const updatedAt = times.reduce<Date | null>((latest, t) => (t && (!latest || t > latest) ? t : latest), null);
  const result: BrokerOrder = {
    brokerOrderId: String(order.id),
    clientOrderId: parts.clientOrderId,
    symbol: parts.symbol,
    side: order.action === 'Sell' ? 'sell' : 'buy',
    quantity,
    orderType: KINDS[terms?.orderType ?? 'Market'] ?? 'market',
    status: commonStatus(ordStatus, filledQty, terms?.quantity ?? null),
    brokerStatus: ordStatus,
    filledQty,
    avgFillPrice: filled.gt(0) ? decimalOf(value.div(filled).round(10).toFixed()) : null,
    limitPrice: terms && ['Limit', 'StopLimit', 'MIT'].includes(terms.orderType) ? terms.price : null,
    stopPrice: terms?.stopPrice ?? null,
    submittedAt,
    updatedAt,
    fills,
  };
  if (parts.reason) result.reason = parts.reason;
  return result;
}

/** Why a rejected order was rejected, from its execution reports. */
export function rejectionOf(reports: Row[]): string | undefined {
  const rejected = reports.find((r) => r.execType === 'Rejected' || typeof r.rejectReason === 'string');
  if (!rejected) return undefined;
  const text = [rejected.text, rejected.rejectReason].find((t) => typeof t === 'string' && t !== '');
  return typeof text === 'string' ? text : undefined;
}

/** A contract's name from the cache; an unknown one keeps its id, so it still reads as a distinct symbol. */
export function symbolOf(names: Map<number, string>, contractId: unknown): string {
  const id = idOf(contractId);
  return (id === null ? undefined : names.get(id)) ?? `contract ${String(contractId)}`;
}

/** Position rows of one account with a non-zero net position (flat rows may linger for the day [U]). */
export function positionsOf(positionRows: Row[], accountId: number, names: Map<number, string>): BrokerPosition[] {
  const positions: BrokerPosition[] = [];
  for (const p of positionRows) {
    if (idOf(p.accountId) !== accountId) continue;
    const quantity = decimalOf(p.netPos);
    const contractId = idOf(p.contractId);
    if (quantity === null || contractId === null || new Big(quantity).eq(0)) continue;
    positions.push({
      symbol: symbolOf(names, contractId),
      quantity,
      avgEntryPrice: decimalOf(p.netPrice) ?? '0',
      marketPrice: null,
      unrealizedPnl: null,
    });
  }
  return positions;
}
