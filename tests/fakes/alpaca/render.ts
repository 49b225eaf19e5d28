/** Alpaca wire shapes: Order, Position, Account and error bodies. Every decimal is a JSON string. */
import { createHash, randomUUID } from 'node:crypto';
import { accountMetrics } from '../common/book.ts';
import { rfc3339Micros } from '../common/clock.ts';
import { big, cmp, div, fmt, isZero, max, mul, sign, sub } from '../common/decimal.ts';
import type { EngineOrder } from '../common/engine.ts';
import type { FakeResponse } from '../common/http.ts';
import type { AlpacaAccount, AlpacaExt, AlpacaState } from './types.ts';

export type AlpacaOrder = EngineOrder<AlpacaExt>;

export function alpacaError(status: number, code: number, message: string, extra: object = {}): FakeResponse {
  return { status, json: { code, message, ...extra } };
}

export const invalid = (message: string) => alpacaError(422, 40010001, message);

export function notFound(state: AlpacaState, what: string): FakeResponse {
  return alpacaError(404, state.config.notFoundCode, `${what} not found`);
}

/** A stable UUID-shaped asset id per symbol. */
export function assetIdFor(state: AlpacaState, symbol: string): string {
  const known = state.assetIds.get(symbol);
  if (known) return known;
  const hex = createHash('sha256').update(`alpaca-asset:${symbol}`).digest('hex');
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  state.assetIds.set(symbol, id);
  return id;
}

export function newId(): string {
  return randomUUID();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (text: string) => UUID.test(text);

export function orderStatus(order: AlpacaOrder): string {
  switch (order.status) {
    case 'held':
      return 'held';
    case 'working':
      return isZero(order.filledQty) ? 'new' : 'partially_filled';
    case 'cancelled':
      return 'canceled';
    default:
      return order.status; // filled, rejected, expired, replaced
  }
}

const time = (micros: number | null) => (micros === null ? null : rfc3339Micros(micros));

export function renderOrder(
  state: AlpacaState,
  order: AlpacaOrder,
  options: { nested?: boolean; justSubmitted?: boolean } = {},
): Record<string, unknown> {
  const { ext } = order;
  const status =
    options.justSubmitted && order.status === 'working' && isZero(order.filledQty)
      ? state.config.submitStatus
      : orderStatus(order);
  const legs = options.nested
    ? state.engine.orders
        .filter((o) => o.parentId === order.id)
        .map((leg) => renderOrder(state, leg, { justSubmitted: options.justSubmitted ?? false }))
    : null;
  return {
    id: order.id,
    client_order_id: ext.clientOrderId,
    created_at: rfc3339Micros(order.createdAt),
    updated_at: rfc3339Micros(order.updatedAt),
    submitted_at: rfc3339Micros(order.createdAt),
    filled_at: time(order.filledAt),
    expired_at: null,
    canceled_at: time(order.cancelledAt),
    failed_at: time(order.rejectedAt),
    replaced_at: time(order.replacedAt),
    replaced_by: ext.replacedBy,
    replaces: ext.replaces,
    asset_id: ext.assetId,
    symbol: order.symbol,
    asset_class: ext.assetClass,
    notional: ext.notional,
    qty: ext.notional === null ? order.qty : null,
    filled_qty: order.filledQty,
    filled_avg_price: order.avgFillPrice === null ? null : fmt(order.avgFillPrice),
    order_class: ext.orderClass,
    order_type: ext.type,
    type: ext.type,
    side: order.side,
    position_intent: ext.positionIntent,
    time_in_force: ext.timeInForce,
    limit_price: order.limitPrice,
    stop_price: order.stopPrice,
    status,
    extended_hours: ext.extendedHours,
    legs: legs && legs.length > 0 ? legs : null,
    trail_percent: ext.trailPercent,
    trail_price: ext.trailPrice,
    hwm: null,
  };
}

/**
 * Quantity of `symbol` held by working orders on `side` (the side that reduces the position). The two exits of a
 * bracket or OCO hold the same shares, so each OCO group counts once.
 */
export function heldForOrders(state: AlpacaState, account: string, symbol: string, side: 'buy' | 'sell') {
  const orders = state.engine
    .openOrders(account)
    .filter((o) => o.symbol === symbol && o.side === side && o.status === 'working');
  const perGroup = new Map<string, string>();
  for (const o of orders) {
    const key = o.ocoGroup ?? o.id;
    perGroup.set(key, max(perGroup.get(key) ?? '0', sub(o.qty, o.filledQty)));
  }
  const qty = [...perGroup.values()].reduce((sum, q) => sum.plus(q), big(0)).toFixed();
  return { qty, ids: orders.map((o) => o.id) };
}

export function renderPosition(state: AlpacaState, account: string, symbol: string): Record<string, unknown> | null {
  const pos = state.engine.account(account).positions.get(symbol);
  if (!pos || isZero(pos.qty)) return null;
  const mark = state.engine.mark(symbol) ?? pos.avgPrice;
  const lastday = state.lastdayPrices.get(symbol) ?? mark;
  const crypto = symbol.includes('/');
  const marketValue = mul(pos.qty, mark);
  const costBasis = mul(pos.qty, pos.avgPrice);
  const pl = sub(marketValue, costBasis);
  const plpc = isZero(costBasis) ? '0' : div(pl, big(costBasis).abs());
  const reducing = sign(pos.qty) > 0 ? 'sell' : 'buy';
  const held = heldForOrders(state, account, symbol, reducing).qty;
  const available = sign(pos.qty) > 0 ? max(0, sub(pos.qty, held)) : sub(pos.qty, sub('0', held));
  return {
    asset_id: assetIdFor(state, symbol),
    symbol,
    exchange: crypto ? 'CRYPTO' : 'NASDAQ',
    asset_class: crypto ? 'crypto' : 'us_equity',
    asset_marginable: !crypto,
    qty: pos.qty,
    qty_available: cmp(available, 0) === 0 ? '0' : available,
    avg_entry_price: fmt(pos.avgPrice),
    side: sign(pos.qty) > 0 ? 'long' : 'short',
    market_value: fmt(marketValue),
    cost_basis: fmt(costBasis),
    unrealized_pl: fmt(pl),
    unrealized_plpc: fmt(plpc),
    unrealized_intraday_pl: fmt(pl),
    unrealized_intraday_plpc: fmt(plpc),
    current_price: fmt(mark),
    lastday_price: fmt(lastday),
    change_today: fmt(div(sub(mark, lastday), lastday)),
  };
}

/** Notional tied up by working orders that would open or add to positions. */
export function reservedForOrders(state: AlpacaState, account: string): string {
  let total = big(0);
  for (const order of state.engine.openOrders(account)) {
    if (order.status !== 'working') continue;
    const pos = state.engine.account(account).positions.get(order.symbol)?.qty ?? '0';
    const remaining = sub(order.qty, order.filledQty);
    const reducing = order.side === 'buy' ? big(pos).lt(0) : big(pos).gt(0);
    const opening = reducing ? max(0, sub(remaining, big(pos).abs())) : remaining;
    const price = order.limitPrice ?? order.stopPrice ?? state.engine.mark(order.symbol) ?? '0';
    total = total.plus(mul(opening, price));
  }
  return total.toFixed();
}

export function accountFigures(state: AlpacaState, account: string) {
  const book = state.engine.account(account);
  const { engine, config } = state;
  const metrics = accountMetrics(
    book,
    (s) => engine.mark(s),
    () => '1',
    'cash',
  );
  const reserved = reservedForOrders(state, account);
  const buyingPower = max(0, sub(sub(mul(config.multiplier, metrics.equity), metrics.grossMarketValue), reserved));
  return { metrics, buyingPower, reserved };
}

export function renderAccount(state: AlpacaState, account: AlpacaAccount): Record<string, unknown> {
  const { metrics, buyingPower, reserved } = accountFigures(state, account.id);
  const book = state.engine.account(account.id);
  const gross = metrics.grossMarketValue;
  const initialMargin = state.config.multiplier === '1' ? gross : mul(gross, '0.5');
  return {
    id: account.id,
    account_number: account.accountNumber,
    status: 'ACTIVE',
    crypto_status: 'ACTIVE',
    currency: 'USD',
    cash: fmt(metrics.cash),
    portfolio_value: fmt(metrics.equity),
    equity: fmt(metrics.equity),
    last_equity: fmt(book.startCash),
    long_market_value: fmt(metrics.longMarketValue),
    short_market_value: fmt(metrics.shortMarketValue),
    buying_power: fmt(buyingPower),
    regt_buying_power: fmt(buyingPower),
    daytrading_buying_power: state.config.multiplier === '4' ? fmt(buyingPower) : '0',
    non_marginable_buying_power: fmt(max(0, sub(metrics.cash, reserved))),
    initial_margin: fmt(initialMargin),
    maintenance_margin: fmt(mul(gross, '0.25')),
    last_maintenance_margin: '0',
    sma: '0',
    multiplier: state.config.multiplier,
    pattern_day_trader: false,
    daytrade_count: 0,
    trading_blocked: state.config.tradingBlocked,
    transfers_blocked: false,
    account_blocked: false,
    trade_suspended_by_user: false,
    shorting_enabled: state.config.shortingEnabled,
    created_at: rfc3339Micros(account.createdAt),
  };
}
