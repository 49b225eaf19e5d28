/**
 * Alpaca wire shapes (BROKERS.md §1.4, §1.5) to the normalized types, and the status mapping of §4. Parsing is
 * defensive: a body without the fields we cannot do without reads as null, and the caller treats it as a glitch.
 */
import { Big } from 'big.js';
import { asRecord, decimalOf } from '../http.ts';
import type { BrokerAccount, BrokerOrder, BrokerPosition, CommonOrderStatus, OrderKind, OrderSide } from '../types.ts';

/** BROKERS.md §4, Alpaca column. `replaced` is only reached when its replacement could not be followed. */
const STATUS: Record<string, CommonOrderStatus> = {
  pending_new: 'submitted',
  accepted: 'submitted',
  accepted_for_bidding: 'submitted',
  held: 'submitted',
  pending_review: 'submitted', // deprecated; still seen
  new: 'accepted',
  pending_cancel: 'accepted',
  pending_replace: 'accepted',
  stopped: 'accepted',
  suspended: 'accepted',
  done_for_day: 'accepted',
  calculated: 'accepted',
  partially_filled: 'partially_filled',
  filled: 'filled',
  canceled: 'cancelled',
  cancelled: 'cancelled',
  replaced: 'cancelled',
  rejected: 'rejected',
  expired: 'expired',
};

const TERMINAL: ReadonlySet<CommonOrderStatus> = new Set(['filled', 'cancelled', 'rejected', 'expired']);

/**
 * The common status. Terminal words win as they are (a cancelled order keeps its filled quantity in `filledQty`);
 * a working order with fills is partially filled, or filled once the whole quantity is done (e.g. `calculated`).
 * An unknown word means Alpaca has the order but we cannot say it works: `submitted`.
 */
export function commonStatus(status: string, quantity: string, filledQty: string): CommonOrderStatus {
  const mapped = STATUS[status] ?? 'submitted';
  if (TERMINAL.has(mapped)) return mapped;
  const filled = new Big(filledQty);
  if (filled.lte(0)) return mapped;
  return new Big(quantity).gt(0) && filled.gte(quantity) ? 'filled' : 'partially_filled';
}

const KINDS: Record<string, OrderKind> = {
  market: 'market',
  limit: 'limit',
  stop: 'stop',
  stop_limit: 'stop_limit',
  // No trailing kind in the common vocabulary; a trailing stop behaves as a stop that moves.
  trailing_stop: 'stop',
};

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

/** RFC3339 with micro- or nanoseconds: Date reads at most milliseconds reliably, so the rest is cut. */
export function dateOf(value: unknown): Date | null {
  const raw = text(value);
  if (raw === null) return null;
  const date = new Date(raw.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(date.getTime()) ? null : date;
}

/** An Alpaca Order, with its nested `legs`; null when the id or side is missing. */
export function mapOrder(value: unknown): BrokerOrder | null {
  const raw = asRecord(value);
  const id = text(raw.id);
  const side = raw.side === 'buy' || raw.side === 'sell' ? (raw.side as OrderSide) : null;
  if (id === null || side === null) return null;
  const filledQty = decimalOf(raw.filled_qty, '0') ?? '0';
  // Notional orders have qty null; their size in shares is only known as it fills.
  const quantity = decimalOf(raw.qty) ?? filledQty;
  const brokerStatus = text(raw.status) ?? 'unknown';
  const type = text(raw.type) ?? text(raw.order_type) ?? 'market';
  const order: BrokerOrder = {
    brokerOrderId: id,
    clientOrderId: text(raw.client_order_id),
    symbol: text(raw.symbol) ?? '',
    side,
    quantity,
    orderType: KINDS[type] ?? 'market',
    status: commonStatus(brokerStatus, quantity, filledQty),
    brokerStatus,
    filledQty,
    avgFillPrice: decimalOf(raw.filled_avg_price),
    limitPrice: decimalOf(raw.limit_price),
    stopPrice: decimalOf(raw.stop_price),
    submittedAt: dateOf(raw.submitted_at) ?? dateOf(raw.created_at),
    updatedAt: dateOf(raw.updated_at),
    // Alpaca reports only cumulative filled_qty/filled_avg_price; the order service synthesizes fills from them.
  };
  if (Array.isArray(raw.legs) && raw.legs.length > 0) {
    order.legs = raw.legs.map(mapOrder).filter((leg): leg is BrokerOrder => leg !== null);
  }
  if (brokerStatus === 'replaced') {
    const by = text(raw.replaced_by);
    order.reason = by ? `replaced at Alpaca by order ${by}` : 'replaced at Alpaca';
  }
  return order;
}

/** An Alpaca Position. Shorts carry a negative qty; a positive qty with side "short" is turned negative too. */
export function mapPosition(value: unknown): BrokerPosition | null {
  const raw = asRecord(value);
  const symbol = text(raw.symbol);
  const qty = decimalOf(raw.qty);
  if (symbol === null || qty === null) return null;
  const quantity = raw.side === 'short' && new Big(qty).gt(0) ? new Big(qty).neg().toFixed() : qty;
  return {
    symbol,
    quantity,
    avgEntryPrice: decimalOf(raw.avg_entry_price, '0') ?? '0',
    marketPrice: decimalOf(raw.current_price),
    unrealizedPnl: decimalOf(raw.unrealized_pl),
  };
}

/**
 * The Account. `accountNumber` (PA…) is what a trader sees in Alpaca's dashboard, so it is the id; the UUID is the
 * fallback. Any of the three blocking flags means orders will be refused.
 */
export function mapAccount(value: unknown): BrokerAccount | null {
  const raw = asRecord(value);
  const accountId = text(raw.account_number) ?? text(raw.id);
  const equity = decimalOf(raw.equity);
  const cash = decimalOf(raw.cash);
  const buyingPower = decimalOf(raw.buying_power);
  if (accountId === null || equity === null || cash === null || buyingPower === null) return null;
  return {
    accountId,
    currency: text(raw.currency) ?? 'USD',
    equity,
    cash,
    buyingPower,
    status: text(raw.status) ?? 'UNKNOWN',
    tradingBlocked:
      raw.trading_blocked === true || raw.account_blocked === true || raw.trade_suspended_by_user === true,
  };
}
