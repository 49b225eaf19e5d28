/**
 * How big an order a signal asks for (SPEC §5 "Quantity"), before the routing multiplier and lot rounding. Pure:
 * the engine fetches the account equity beforehand, and only when needsEquity says so (a broker round trip).
 */
import { Big } from 'big.js';
import type { SizingType } from '#shared/enums.ts';
import type { Signal } from '#shared/schemas/signal.ts';

export interface SizingRules {
  sizingType: SizingType;
  sizingValue: string;
  useSignalQuantity: boolean;
}
export interface SizingContext {
  instrument: { multiplier: string; lotSize: string };
  /** |current position| for percent_of_position, '0' when flat. */
  positionQuantity: string;
  /** Account equity, required only for percent_of_equity (the engine fetches it from the broker only then). */
  equity?: string;
}
export type SizingErrorCode = 'missing-price' | 'missing-stop' | 'missing-equity' | 'invalid-sizing';
export type SizingResult = { ok: true; quantity: string } | { ok: false; code: SizingErrorCode; message: string };

/**
 * A constructor of its own, so the global Big's DP and RM stay as other modules expect. Each sizing formula does a
 * single division, truncated at 40 places: a sized quantity is never above the exact one, and lot rounding floors it.
 */
const Exact = Big();
Exact.DP = 40;
Exact.RM = Big.roundDown;

/** `text` as a number, or undefined when it is not one (database decimals such as `2.00000000` are fine). */
export function parseDecimal(text: string | undefined): Big | undefined {
  if (text === undefined) return undefined;
  try {
    return new Exact(text);
  } catch {
    return undefined;
  }
}

function parsePositive(text: string | undefined): Big | undefined {
  const value = parseDecimal(text);
  return value?.gt(0) ? value : undefined;
}

/** Canonical decimal text: no exponent, no trailing zeros (big.js keeps none), never `-0`. */
export function decimalText(value: Big): string {
  return value.eq(0) ? '0' : value.toFixed();
}

/** Rounds down to a whole number of lots (floor(q / lot) × lot), exact. Quantities are magnitudes (≥ 0). */
export function roundToLot(quantity: string, lotSize: string): string {
  const lot = parsePositive(lotSize);
  if (!lot) throw new RangeError(`lot size "${lotSize}" is not a positive number`);
  const lots = new Exact(quantity).div(lot).round(0, Big.roundDown);
  return decimalText(lots.times(lot));
}

interface EffectiveSizing {
  type: SizingType;
  value: string;
  /** Named in messages, so the trader knows whether to fix the alert or the strategy. */
  from: 'alert' | 'strategy';
}

/**
 * The signal's own sizing when it names a quantityType; else its quantity when the strategy uses signal quantities;
 * else the strategy's sizing. A quantityType without a quantity is an error message, not a sizing.
 */
function effectiveSizing(signal: Signal, rules: SizingRules): EffectiveSizing | string {
  if (signal.quantityType !== undefined) {
    if (signal.quantity === undefined) return `the alert's quantityType ${signal.quantityType} needs a quantity`;
    return { type: signal.quantityType, value: signal.quantity, from: 'alert' };
  }
  if (rules.useSignalQuantity && signal.quantity !== undefined) {
    return { type: 'fixed_quantity', value: signal.quantity, from: 'alert' };
  }
  return { type: rules.sizingType, value: rules.sizingValue, from: 'strategy' };
}

/** The sizing type that applies to this signal, undefined when the signal's sizing is unusable. */
export function sizingTypeOf(signal: Signal, rules: SizingRules): SizingType | undefined {
  const sizing = effectiveSizing(signal, rules);
  return typeof sizing === 'string' ? undefined : sizing.type;
}

/**
 * Closing signals (exit, sentiment flat) size only a quantity the alert sends (with its quantityType, if any), never
 * by the strategy's sizing: that is for entries, and without a quantity they close the whole position.
 */
export function closingRules(rules: SizingRules): SizingRules {
  return { ...rules, useSignalQuantity: true };
}

/**
 * True when sizing needs the broker account's equity (percent_of_equity). False for signals that never size by the
 * strategy (cancel, a positionSize target, a close without quantity), so an exit never waits on an account call.
 */
export function needsEquity(signal: Signal, rules: SizingRules): boolean {
  if (signal.action === 'cancel') return false;
  if (signal.positionSize !== undefined && (signal.action === 'buy' || signal.action === 'sell')) return false;
  if (signal.action === 'exit' || signal.sentiment === 'flat') {
    return signal.quantity !== undefined && sizingTypeOf(signal, closingRules(rules)) === 'percent_of_equity';
  }
  return sizingTypeOf(signal, rules) === 'percent_of_equity';
}

function fail(code: SizingErrorCode, message: string): SizingResult {
  return { ok: false, code, message };
}

function ok(quantity: Big): SizingResult {
  return { ok: true, quantity: decimalText(quantity.lt(0) ? new Exact(0) : quantity) };
}

/** A limit order fills at its limit at worst; otherwise the price the alert saw. */
function entryPrice(signal: Signal): Big | undefined {
  return parsePositive(signal.limitPrice ?? signal.price);
}

/** |entry − stop| per unit; a stop loss given as a distance (amount, percent of entry) needs no stop price. */
function stopDistance(signal: Signal, entry: Big): Big | undefined {
  const { stopLoss } = signal;
  if (stopLoss?.amount !== undefined) return parseDecimal(stopLoss.amount);
  if (stopLoss?.percent !== undefined) return entry.times(stopLoss.percent).div(100);
  const stop = parseDecimal(stopLoss?.stopPrice ?? signal.stopPrice);
  return stop && entry.minus(stop).abs();
}

/** The quantity the strategy (or the signal) asks for, before the routing multiplier and lot rounding. */
export function sizeSignal(signal: Signal, rules: SizingRules, context: SizingContext): SizingResult {
  const sizing = effectiveSizing(signal, rules);
  if (typeof sizing === 'string') return fail('invalid-sizing', sizing);
  const label = `${sizing.from === 'alert' ? "the alert's" : "the strategy's"} ${sizing.type} sizing of ${sizing.value}`;
  const value = parsePositive(sizing.value);
  if (!value) return fail('invalid-sizing', `${label} is not a positive number`);
  if (sizing.type === 'fixed_quantity') return ok(value);
  if (sizing.type === 'percent_of_position') {
    const position = parseDecimal(context.positionQuantity);
    if (!position) return fail('invalid-sizing', `position "${context.positionQuantity}" is not a number`);
    return ok(position.abs().times(value).div(100));
  }

  const entry = entryPrice(signal);
  if (!entry)
    return fail('missing-price', `${label} needs a price: send limitPrice or price (e.g. "price": {{close}})`);
  const multiplier = parsePositive(context.instrument.multiplier);
  if (!multiplier) {
    return fail('invalid-sizing', `instrument multiplier "${context.instrument.multiplier}" is not a positive number`);
  }
  const unitValue = entry.times(multiplier);
  if (sizing.type === 'dollar_amount') return ok(value.div(unitValue));
  if (sizing.type === 'risk_dollar_amount') {
    const distance = stopDistance(signal, entry);
    if (!distance) {
      return fail('missing-stop', `${label} needs a stop: send stopLoss (stopPrice, amount or percent) or stopPrice`);
    }
    if (distance.eq(0)) {
      return fail(
        'missing-stop',
        `${label} needs a stop away from the entry ${entry.toFixed()}: the risk per unit is 0`,
      );
    }
    return ok(value.div(distance.times(multiplier)));
  }
  // percent_of_equity. Price is checked first, so the engine can try without equity and fetch it only when asked.
  if (context.equity === undefined) return fail('missing-equity', `${label} needs the account equity`);
  const equity = parseDecimal(context.equity);
  if (!equity) return fail('missing-equity', `${label} needs the account equity, got "${context.equity}"`);
  return ok(equity.times(value).div(unitValue.times(100)));
}
