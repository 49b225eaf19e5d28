/** POST /v2/orders body rules (BROKERS.md §1.3): anything broken answers 422 {"code":40010001,"message"}. */
import { add, cmp, isInteger, isPositive, parseDecimal, sub } from '../common/decimal.ts';
import type { FakeResponse } from '../common/http.ts';
import { bool, isRecord, type JsonObject, str } from '../common/json.ts';
import { alpacaError, invalid } from './render.ts';
import type { AlpacaType } from './types.ts';

export interface OrderRequest {
  symbol: string;
  qty: string | null;
  notional: string | null;
  side: 'buy' | 'sell';
  type: AlpacaType;
  timeInForce: string;
  limitPrice: string | null;
  stopPrice: string | null;
  trailPrice: string | null;
  trailPercent: string | null;
  extendedHours: boolean;
  clientOrderId: string | null;
  orderClass: string;
  takeProfit: { limitPrice: string } | null;
  stopLoss: { stopPrice: string; limitPrice: string | null } | null;
  positionIntent: string | null;
}

const TYPES: readonly string[] = ['market', 'limit', 'stop', 'stop_limit', 'trailing_stop'];
const TIFS: readonly string[] = ['day', 'gtc', 'opg', 'cls', 'ioc', 'fok'];
const CLASSES: readonly string[] = ['simple', '', 'bracket', 'oco', 'oto', 'mleg'];
const INTENTS: readonly string[] = ['buy_to_open', 'buy_to_close', 'sell_to_open', 'sell_to_close'];

type Result<T> = { ok: true; value: T } | { ok: false; response: FakeResponse };
const fail = (message: string): { ok: false; response: FakeResponse } => ({ ok: false, response: invalid(message) });

/** A decimal field: absent → null; present but not a positive decimal → the error message. */
function decimalField(obj: JsonObject, key: string, label = key): string | null | { error: string } {
  const value = obj[key];
  if (value === undefined || value === null || value === '') return null;
  const parsed = parseDecimal(value);
  if (parsed === null || !isPositive(parsed)) return { error: `invalid ${label}` };
  return parsed;
}

function decimals(obj: JsonObject, keys: string[], prefix = ''): Result<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const key of keys) {
    const value = decimalField(obj, key, `${prefix}${key}`);
    if (value !== null && typeof value === 'object') return fail(value.error);
    out[key] = value;
  }
  return { ok: true, value: out };
}

export function parseOrderRequest(body: unknown, clientOrderIdMaxLength: number): Result<OrderRequest> {
  if (!isRecord(body)) return { ok: false, response: alpacaError(400, 40010000, 'request body format is invalid') };
  const side = str(body, 'side');
  if (!side) return fail('side is required');
  if (side !== 'buy' && side !== 'sell') return fail(`invalid side "${side}"`);
  const type = str(body, 'type');
  if (!type) return fail('type is required');
  if (!TYPES.includes(type)) return fail(`invalid order type "${type}"`);
  const tif = str(body, 'time_in_force');
  if (!tif) return fail('time_in_force is required');
  if (!TIFS.includes(tif)) return fail(`invalid time_in_force "${tif}"`);
  const orderClass = str(body, 'order_class') ?? '';
  if (!CLASSES.includes(orderClass)) return fail(`invalid order_class "${orderClass}"`);
  if (orderClass === 'mleg') return fail('mleg (multi-leg options) orders are not supported by the fake');
  const symbol = str(body, 'symbol');
  if (!symbol) return fail('symbol is required');
  const intent = str(body, 'position_intent') ?? null;
  if (intent !== null && !INTENTS.includes(intent)) return fail(`invalid position_intent "${intent}"`);

  const nums = decimals(body, ['qty', 'notional', 'limit_price', 'stop_price', 'trail_price', 'trail_percent']);
  if (!nums.ok) return nums;
  const {
    qty = null,
    notional = null,
    trail_price: trailPrice = null,
    trail_percent: trailPercent = null,
  } = nums.value;
  let limitPrice = nums.value.limit_price ?? null;
  const stopPrice = nums.value.stop_price ?? null;
  if (qty === null && notional === null) return fail('qty or notional is required');
  if (qty !== null && notional !== null) return fail('only one of qty or notional can be specified');

  const legs = parseLegs(body);
  if (!legs.ok) return legs;
  const { takeProfit, stopLoss } = legs.value;
  // OCO: the take-profit limit order is the parent, so its limit may come only from take_profit.
  if (orderClass === 'oco' && limitPrice === null && takeProfit) limitPrice = takeProfit.limitPrice;

  if ((type === 'limit' || type === 'stop_limit') && limitPrice === null) return fail('limit_price is required');
  if ((type === 'stop' || type === 'stop_limit') && stopPrice === null) return fail('stop_price is required');
  if (type === 'trailing_stop' && (trailPrice === null) === (trailPercent === null)) {
    return fail('exactly one of trail_price or trail_percent is required');
  }
  if (qty !== null && !isInteger(qty) && !(type === 'market' && tif === 'day') && !symbol.includes('/')) {
    return fail('fractional orders must be market orders with time_in_force day');
  }
  if (notional !== null && !(type === 'market' && tif === 'day') && !symbol.includes('/')) {
    return fail('notional orders must be market orders with time_in_force day');
  }
  const extendedHours = bool(body, 'extended_hours') ?? false;
  if (extendedHours && !(type === 'limit' && tif === 'day')) {
    return fail('extended hours order must be DAY limit orders');
  }
  const clientOrderId = str(body, 'client_order_id') ?? null;
  if (clientOrderId !== null && clientOrderId.length > clientOrderIdMaxLength) {
    return fail(`client_order_id must be no more than ${clientOrderIdMaxLength} characters`);
  }
  if (symbol.includes('/')) {
    if (!['market', 'limit', 'stop_limit'].includes(type)) return fail(`invalid crypto order type "${type}"`);
    if (!['gtc', 'ioc'].includes(tif)) return fail(`invalid crypto time_in_force "${tif}"`);
  }
  const request: OrderRequest = {
    symbol,
    qty,
    notional,
    side,
    type: type as AlpacaType,
    timeInForce: tif,
    limitPrice,
    stopPrice,
    trailPrice,
    trailPercent,
    extendedHours,
    clientOrderId,
    orderClass,
    takeProfit,
    stopLoss,
    positionIntent: intent,
  };
  const classError = checkOrderClass(request, body);
  return classError ? fail(classError) : { ok: true, value: request };
}

function parseLegs(body: JsonObject): Result<Pick<OrderRequest, 'takeProfit' | 'stopLoss'>> {
  let takeProfit: OrderRequest['takeProfit'] = null;
  let stopLoss: OrderRequest['stopLoss'] = null;
  const tp = body.take_profit;
  if (isRecord(tp)) {
    const nums = decimals(tp, ['limit_price'], 'take_profit.');
    if (!nums.ok) return nums;
    if (!nums.value.limit_price) return fail('take_profit.limit_price is required');
    takeProfit = { limitPrice: nums.value.limit_price };
  }
  const sl = body.stop_loss;
  if (isRecord(sl)) {
    const nums = decimals(sl, ['stop_price', 'limit_price'], 'stop_loss.');
    if (!nums.ok) return nums;
    if (!nums.value.stop_price) return fail('stop_loss.stop_price is required');
    stopLoss = { stopPrice: nums.value.stop_price, limitPrice: nums.value.limit_price ?? null };
  }
  return { ok: true, value: { takeProfit, stopLoss } };
}

/** Bracket, OCO and OTO rules (BROKERS.md §1.3, [A5]); the bracket base-price rule needs the mark (checkBracketBase). */
function checkOrderClass(r: OrderRequest, body: JsonObject): string | null {
  if (r.orderClass === 'bracket') {
    if (!r.takeProfit) return 'bracket orders require take_profit.limit_price';
    if (!r.stopLoss) return 'bracket orders require stop_loss.stop_price';
    if (r.timeInForce !== 'day' && r.timeInForce !== 'gtc') return 'bracket orders must be day or gtc';
    if (body.extended_hours !== undefined && body.extended_hours !== false) {
      return 'extended_hours is not allowed for bracket orders';
    }
    const order = cmp(r.takeProfit.limitPrice, r.stopLoss.stopPrice);
    if (r.side === 'buy' && order <= 0) return 'take_profit.limit_price must be > stop_loss.stop_price';
    if (r.side === 'sell' && order >= 0) return 'take_profit.limit_price must be < stop_loss.stop_price';
  }
  if (r.orderClass === 'oco') {
    if (r.type !== 'limit') return 'oco orders must be limit orders';
    if (!r.stopLoss) return 'oco orders require stop_loss';
    if (!r.takeProfit && r.limitPrice === null) return 'oco orders require take_profit.limit_price';
  }
  if (r.orderClass === 'oto' && (r.takeProfit === null) === (r.stopLoss === null)) {
    return 'oto orders require exactly one of take_profit or stop_loss';
  }
  return null;
}

/** "The stop must be at least $0.01 from the base price: the entry limit price or the market price." */
export function checkBracketBase(r: OrderRequest, mark: string): string | null {
  if (r.orderClass !== 'bracket' || !r.stopLoss) return null;
  const base = r.limitPrice ?? mark;
  if (r.side === 'buy' && cmp(r.stopLoss.stopPrice, sub(base, '0.01')) > 0) {
    return `stop_loss.stop_price must be <= base_price - 0.01 (base_price: ${base})`;
  }
  if (r.side === 'sell' && cmp(r.stopLoss.stopPrice, add(base, '0.01')) < 0) {
    return `stop_loss.stop_price must be >= base_price + 0.01 (base_price: ${base})`;
  }
  return null;
}
