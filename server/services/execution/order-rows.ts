/**
 * The broker_orders rows a route's plan becomes: order type and time in force from the signal or the strategy's
 * defaults, prices rounded to the instrument's tick (TradingView prints float noise such as 1194.6000000000001),
 * take-profit and stop-loss resolved to absolute prices and attached to opening legs only (a closing leg has no
 * position of its own to protect).
 */
import { Big } from 'big.js';
import type { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import type { OrderType, TimeInForce } from '#shared/enums.ts';
import type { Signal, StopLoss, TakeProfit } from '#shared/schemas/signal.ts';
import type { PlannedLeg } from './plan.ts';

export type OrderInsert = typeof brokerOrders.$inferInsert;
type OrderRow = typeof brokerOrders.$inferSelect;

export interface OrderDefaults {
  defaultOrderType: OrderType;
  defaultTif: TimeInForce;
}

export type OrderTerms =
  | {
      ok: true;
      orderType: OrderType;
      tif: TimeInForce;
      limitPrice: string | null;
      stopPrice: string | null;
      takeProfitPrice: string | null;
      stopLossPrice: string | null;
    }
  | { ok: false; code: 'missing-price'; message: string };

const OPENING_INTENTS = new Set<PlannedLeg['intent']>(['open', 'add', 'reverse_open']);

export function isOpeningLeg(leg: PlannedLeg): boolean {
  return OPENING_INTENTS.has(leg.intent);
}

/** Rounds half-up to a multiple of the tick. */
export function roundToTick(price: string, tickSize: string): string {
  const tick = new Big(tickSize);
  if (tick.lte(0)) return new Big(price).toFixed();
  return new Big(price).div(tick).round(0, Big.roundHalfUp).times(tick).toFixed();
}

function orderTypeOf(signal: Signal, defaults: OrderDefaults): OrderType {
  if (signal.orderType) return signal.orderType;
  if (signal.limitPrice && signal.stopPrice) return 'stop_limit';
  if (signal.limitPrice) return 'limit';
  if (signal.stopPrice) return 'stop';
  return defaults.defaultOrderType;
}

/** The order terms of a signal, shared by every leg and route; the side decides which way TP/SL point. */
export function orderTerms(
  signal: Signal,
  defaults: OrderDefaults,
  tickSize: string,
  side: 'buy' | 'sell',
): OrderTerms {
  const orderType = orderTypeOf(signal, defaults);
  const tick = (value: string | undefined) => (value === undefined ? null : roundToTick(value, tickSize));
  const limitPrice = tick(signal.limitPrice);
  const stopPrice = tick(signal.stopPrice);
  if ((orderType === 'limit' || orderType === 'stop_limit') && !limitPrice) {
    return { ok: false, code: 'missing-price', message: `A ${orderType} order needs a limitPrice in the alert` };
  }
  if ((orderType === 'stop' || orderType === 'stop_limit') && !stopPrice) {
    return { ok: false, code: 'missing-price', message: `A ${orderType} order needs a stopPrice in the alert` };
  }
  const entry = signal.limitPrice ?? signal.price;
  const exit = (target: TakeProfit | StopLoss | undefined, absolute: string | undefined, towardProfit: boolean) => {
    if (!target) return null;
    if (absolute) return tick(absolute);
    if (!entry) return null;
    // Long: profit above the entry, loss below; short: the reverse.
    const up = (side === 'buy') === towardProfit;
    const distance = target.amount ? new Big(target.amount) : new Big(entry).times(target.percent ?? '0').div(100);
    const price = up ? new Big(entry).plus(distance) : new Big(entry).minus(distance);
    return price.gt(0) ? tick(price.toFixed()) : null;
  };
  return {
    ok: true,
    orderType,
    tif: signal.timeInForce ?? defaults.defaultTif,
    limitPrice: orderType === 'limit' || orderType === 'stop_limit' ? limitPrice : null,
    stopPrice: orderType === 'stop' || orderType === 'stop_limit' ? stopPrice : null,
    takeProfitPrice: exit(signal.takeProfit, signal.takeProfit?.limitPrice, true),
    stopLossPrice: exit(signal.stopLoss, signal.stopLoss?.stopPrice, false),
  };
}

/** One row per leg; brackets only on opening legs. The caller links a reversal's opening leg to its closing leg. */
export function orderRow(
  base: Pick<OrderInsert, 'userId' | 'strategyId' | 'brokerConnectionId' | 'webhookLogId' | 'symbol' | 'brokerSymbol'>,
  leg: PlannedLeg,
  terms: Extract<OrderTerms, { ok: true }>,
): OrderInsert {
  const opening = isOpeningLeg(leg);
  return {
    ...base,
    side: leg.side,
    intent: leg.intent,
    orderType: terms.orderType,
    tif: terms.tif,
    quantity: leg.quantity,
    limitPrice: terms.limitPrice,
    stopPrice: terms.stopPrice,
    takeProfitPrice: opening ? terms.takeProfitPrice : null,
    stopLossPrice: opening ? terms.stopLossPrice : null,
    status: 'pending',
  };
}

/**
 * A row just inserted, as a read would return it (the table's defaults for what the insert left out, its client id
 * `fp-<id>`): what the signal job sends right after its commit without reading its own orders back.
 */
export function insertedOrderRow(row: OrderInsert, id: number, at: Date): OrderRow {
  return {
    id,
    userId: row.userId,
    strategyId: row.strategyId,
    brokerConnectionId: row.brokerConnectionId,
    webhookLogId: row.webhookLogId ?? null,
    tradeId: row.tradeId ?? null,
    parentOrderId: row.parentOrderId ?? null,
    clientOrderId: `fp-${id}`,
    brokerOrderId: row.brokerOrderId ?? null,
    symbol: row.symbol,
    brokerSymbol: row.brokerSymbol,
    side: row.side,
    intent: row.intent,
    orderType: row.orderType,
    tif: row.tif,
    quantity: row.quantity,
    limitPrice: row.limitPrice ?? null,
    stopPrice: row.stopPrice ?? null,
    takeProfitPrice: row.takeProfitPrice ?? null,
    stopLossPrice: row.stopLossPrice ?? null,
    status: row.status ?? 'pending',
    brokerStatus: row.brokerStatus ?? null,
    filledQty: row.filledQty ?? '0',
    avgFillPrice: row.avgFillPrice ?? null,
    commission: row.commission ?? '0',
    attempts: row.attempts ?? 0,
    lastError: row.lastError ?? null,
    submittedAt: row.submittedAt ?? null,
    filledAt: row.filledAt ?? null,
    createdAt: at,
    updatedAt: at,
  };
}
