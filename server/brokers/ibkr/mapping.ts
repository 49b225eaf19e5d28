/**
 * IBKR shapes → normalized types: live-order items and single-order status bodies (BROKERS.md §3.5), trades,
 * positions and the account summary (§3.6), and the status mapping of §4. IBKR sends numbers where others send
 * strings; decimalOf turns each into an exact decimal string without float arithmetic.
 */
import { Big } from 'big.js';
import { asRecord, decimalOf } from '../http.ts';
import type {
  BrokerFill,
  BrokerOrder,
  BrokerPosition,
  CommonOrderStatus,
  Decimal,
  OrderKind,
  OrderSide,
} from '../types.ts';

const STATUS: Record<string, CommonOrderStatus> = {
  pendingsubmit: 'pending',
  apipending: 'pending',
  presubmitted: 'submitted',
  submitted: 'accepted',
  pendingcancel: 'accepted',
  warnstate: 'accepted',
  filled: 'filled',
  cancelled: 'cancelled',
  apicancelled: 'cancelled',
  inactive: 'rejected',
  rejected: 'rejected',
};

/** §4: IBKR has no partially-filled status; a working order with some but not all filled is one. */
export function commonStatus(brokerStatus: string, filled: Decimal, total: Decimal | null): CommonOrderStatus {
  const status = STATUS[brokerStatus.replace(/[^a-z]/gi, '').toLowerCase()] ?? 'submitted';
  const working = status === 'accepted' || status === 'submitted';
  if (working && new Big(filled).gt(0) && (total === null || new Big(filled).lt(total))) return 'partially_filled';
  return status;
}

/** MKT/LMT/STP/STOP_LIMIT codes, origOrderType words (LIMIT, STOP_LIMIT) and labels ("Stop Limit") alike. */
export function orderKind(value: unknown): OrderKind {
  const word = String(value ?? '')
    .replace(/[^a-z]/gi, '')
    .toUpperCase();
  if (word === 'STOPLIMIT' || word === 'STPLMT') return 'stop_limit';
  if (word === 'STP' || word === 'STOP') return 'stop';
  if (word === 'LMT' || word === 'LIMIT' || word === 'LOC' || word === 'LIMITONCLOSE' || word === 'MIDPRICE') {
    return 'limit';
  }
  return 'market';
}

function sideOf(value: unknown): OrderSide {
  return /^s/i.test(String(value ?? '')) ? 'sell' : 'buy';
}

function text(value: unknown): string | null {
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : null;
}

function dateOfMs(value: unknown): Date | null {
  const ms = typeof value === 'string' ? Number(value) : value;
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? new Date(ms) : null;
}

/** IBKR's yyMMddHHmmss (UTC) or yyyyMMdd-HH:mm:ss. */
function dateOfStamp(value: unknown): Date | null {
  const digits = String(value ?? '').replace(/\D/g, '');
  const full = digits.length === 12 ? `20${digits}` : digits;
  if (full.length !== 14) return null;
  const iso = `${full.slice(0, 4)}-${full.slice(4, 6)}-${full.slice(6, 8)}T${full.slice(8, 10)}:${full.slice(10, 12)}:${full.slice(12, 14)}Z`;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Limit and stop from IBKR's `price`/`auxPrice`: STP carries its trigger in `price` (§3.4), STOP_LIMIT in aux. */
function prices(
  kind: OrderKind,
  price: Decimal | null,
  aux: Decimal | null,
  limit: Decimal | null,
  stop: Decimal | null,
) {
  if (kind === 'stop') return { limitPrice: null, stopPrice: stop ?? aux ?? price };
  if (kind === 'stop_limit') return { limitPrice: limit ?? price, stopPrice: stop ?? aux };
  if (kind === 'limit') return { limitPrice: limit ?? price, stopPrice: null };
  return { limitPrice: null, stopPrice: null };
}

/** An item of GET /iserver/account/orders. */
export function orderFromLiveItem(raw: unknown, symbolOf: (conid: unknown) => string | null): BrokerOrder {
  const item = asRecord(raw);
  const filled = decimalOf(item.filledQuantity, '0') ?? '0';
  const remaining = decimalOf(item.remainingQuantity);
  const total = decimalOf(item.totalSize) ?? (remaining === null ? null : new Big(filled).plus(remaining).toFixed());
  const brokerStatus = text(item.status) ?? text(item.order_ccp_status) ?? 'Unknown';
  const kind = orderKind(item.origOrderType ?? item.orderType);
  return {
    brokerOrderId: text(item.orderId) ?? text(item.order_id) ?? '',
    clientOrderId: text(item.order_ref),
    symbol: text(item.ticker) ?? symbolOf(item.conid) ?? text(item.description1) ?? '',
    side: sideOf(item.side),
    quantity: total ?? filled,
    orderType: kind,
    status: commonStatus(brokerStatus, filled, total),
    brokerStatus,
    filledQty: filled,
    avgFillPrice: new Big(filled).gt(0) ? decimalOf(item.avgPrice) : null,
    ...prices(kind, decimalOf(item.price), decimalOf(item.auxPrice), null, null),
    submittedAt: null,
    updatedAt: dateOfMs(item.lastExecutionTime_r) ?? dateOfStamp(item.lastExecutionTime),
  };
}

/** GET /iserver/account/order/status/{orderId}. */
export function orderFromStatus(raw: unknown, symbolOf: (conid: unknown) => string | null): BrokerOrder {
  const body = asRecord(raw);
  const filled = decimalOf(body.cum_fill, '0') ?? '0';
  const remaining = decimalOf(body.size);
  const total = decimalOf(body.total_size) ?? (remaining === null ? null : new Big(filled).plus(remaining).toFixed());
  const brokerStatus = text(body.order_status) ?? 'Unknown';
  const kind = orderKind(body.order_type ?? body.orderType);
  const description = text(body.order_status_description);
  const status = commonStatus(brokerStatus, filled, total);
  return {
    brokerOrderId: text(body.order_id) ?? '',
    clientOrderId: text(body.order_ref),
    symbol: text(body.symbol) ?? symbolOf(body.conid) ?? '',
    side: sideOf(body.side),
    quantity: total ?? filled,
    orderType: kind,
    status,
    brokerStatus,
    filledQty: filled,
    avgFillPrice: new Big(filled).gt(0) ? decimalOf(body.average_price ?? body.avgPrice) : null,
    ...prices(
      kind,
      decimalOf(body.price),
      decimalOf(body.auxPrice),
      decimalOf(body.limit_price),
      decimalOf(body.stop_price),
    ),
    submittedAt: dateOfStamp(body.order_time),
    updatedAt: null,
    ...(status === 'rejected' && description ? { reason: description } : {}),
  };
}

/** Rows of GET /iserver/account/trades for one order (matched by order_ref = cOID), as fills. */
export function fillsFromTrades(rows: unknown[], clientOrderId: string, accountId: string): BrokerFill[] {
  const fills: BrokerFill[] = [];
  for (const raw of rows) {
    const row = asRecord(raw);
    if (text(row.order_ref) !== clientOrderId) continue;
    const account = text(row.account) ?? text(row.accountCode);
    if (account !== null && account !== accountId) continue;
    const id = text(row.execution_id);
    const quantity = decimalOf(row.size);
    const price = decimalOf(row.price);
    if (!id || !quantity || !price) continue;
    const commission = decimalOf(row.commission);
    fills.push({
      brokerFillId: id,
      quantity,
      price,
      ...(commission === null ? {} : { commission }),
      filledAt: dateOfMs(row.trade_time_r) ?? dateOfStamp(row.trade_time) ?? new Date(0),
    });
  }
  return fills.sort((a, b) => a.filledAt.getTime() - b.filledAt.getTime());
}

/** A row of GET /portfolio/{accountId}/positions/{page}; null for a flat row. */
export function positionFromRow(raw: unknown, symbolOf: (conid: unknown) => string | null): BrokerPosition | null {
  const row = asRecord(raw);
  const quantity = decimalOf(row.position);
  if (quantity === null || new Big(quantity).eq(0)) return null;
  return {
    symbol: text(row.ticker) ?? symbolOf(row.conid) ?? text(row.contractDesc) ?? String(row.conid ?? ''),
    quantity,
    // §3.6: for derivatives avgCost includes the multiplier; avgPrice is the per-unit price.
    avgEntryPrice: decimalOf(row.avgPrice) ?? decimalOf(row.avgCost) ?? '0',
    marketPrice: decimalOf(row.mktPrice),
    unrealizedPnl: decimalOf(row.unrealizedPnl),
  };
}

/** A field of GET /portfolio/{accountId}/summary: `{amount, currency, isNull, …}`. */
export function summaryAmount(summary: Record<string, unknown>, key: string): Decimal | null {
  const field = asRecord(summary[key]);
  if (field.isNull === true) return null;
  return decimalOf(field.amount) ?? decimalOf(field.value);
}

export function summaryCurrency(summary: Record<string, unknown>): string | null {
  return text(asRecord(summary.netliquidation).currency);
}
