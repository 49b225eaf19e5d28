/**
 * What one routing rule does with a signal (SPEC §5): the orders to place against the current position of that
 * (strategy, connection, broker symbol), or why none. Pure: the engine supplies the position, the rules and, for
 * percent_of_equity, the account equity. Closing legs are never capped or sized beyond the position; opening and
 * adding legs are sized, scaled by the route, rounded down to lots and fitted under maxPositionQty.
 */
import { Big } from 'big.js';
import type { OrderIntent } from '#shared/enums.ts';
import type { Signal } from '#shared/schemas/signal.ts';
import {
  closingRules,
  decimalText,
  parseDecimal,
  roundToLot,
  type SizingErrorCode,
  type SizingRules,
  sizeSignal,
  sizingTypeOf,
} from './sizing.ts';

export interface StrategyRules {
  allowShort: boolean;
  allowReverse: boolean;
  maxPositionQty: string | null;
}
export interface PlannedLeg {
  side: 'buy' | 'sell';
  quantity: string;
  intent: OrderIntent;
}
export type IgnoreReason =
  | 'already-long'
  | 'already-short'
  | 'no-position'
  | 'zero-quantity'
  | 'short-not-allowed'
  | 'max-position-reached'
  | 'already-at-target';
export type RoutePlan =
  /** A reversal is [closing leg, opening leg]: the engine sends leg 2 only after leg 1 fills. `note` says what of
   * the signal was left out (a reversal reduced to its close, a size capped by max position). */
  | { kind: 'orders'; legs: PlannedLeg[]; note?: string }
  | { kind: 'cancel' }
  | { kind: 'ignored'; reason: IgnoreReason; message: string }
  | { kind: 'rejected'; code: SizingErrorCode; message: string };
export interface RouteInput {
  signal: Signal;
  /** Signed position for this (strategy, connection, broker symbol): negative short, '0' flat. */
  position: string;
  rules: StrategyRules;
  sizing: SizingRules;
  /** routing_rules.quantity_multiplier */
  routeMultiplier: string;
  instrument: { multiplier: string; lotSize: string };
  equity?: string;
  /** The broker symbol, for messages; the signal's ticker when absent. */
  symbol?: string;
}

type Direction = 1 | -1;

interface Route {
  input: RouteInput;
  /** Signed position P and its size |P|. */
  position: Big;
  held: Big;
  multiplier: Big;
  max: Big | undefined;
  /** What was asked, as the messages start: `buy 2`, `sell (sentiment flat)`, `buy to position -3`. */
  asked: string;
}

/** A quantity, or why there is none: a skip becomes `ignored` (or a reversal's missing half), a reject stays one. */
type Stop = { skip: IgnoreReason; why: string } | { reject: SizingErrorCode; why: string };
type Step = { quantity: Big; note?: string } | Stop;

const ZERO = new Big(0);
const sideOf = (direction: Direction): PlannedLeg['side'] => (direction > 0 ? 'buy' : 'sell');
const directionOf = (value: Big): Direction | 0 => (value.gt(0) ? 1 : value.lt(0) ? -1 : 0);

function leg(direction: Direction, quantity: Big, intent: OrderIntent): PlannedLeg {
  return { side: sideOf(direction), quantity: decimalText(quantity), intent };
}

function orders(legs: PlannedLeg[], note?: string): RoutePlan {
  return note === undefined ? { kind: 'orders', legs } : { kind: 'orders', legs, note };
}

/** `long 3 AAPL`, `short 2 MNQZ5`, `flat on AAPL`. */
function holding(route: Route): string {
  const symbol = route.input.symbol ?? route.input.signal.ticker;
  const direction = directionOf(route.position);
  if (direction === 0) return `flat on ${symbol}`;
  return `${direction > 0 ? 'long' : 'short'} ${decimalText(route.held)} ${symbol}`;
}

function ended(route: Route, step: Stop): RoutePlan {
  if ('reject' in step) return { kind: 'rejected', code: step.reject, message: `${route.asked} rejected: ${step.why}` };
  return { kind: 'ignored', reason: step.skip, message: `${route.asked} ignored: ${step.why}` };
}

function ignored(route: Route, reason: IgnoreReason, why: string): RoutePlan {
  return ended(route, { skip: reason, why });
}

function lotsOf(route: Route, quantity: Big): Big {
  return new Big(roundToLot(decimalText(quantity), route.input.instrument.lotSize));
}

function roundsToZero(route: Route, quantity: Big): Stop {
  const lot = route.input.instrument.lotSize;
  return { skip: 'zero-quantity', why: `the size ${decimalText(quantity)} rounds down to 0 with lot size ${lot}` };
}

/**
 * The sized quantity scaled to this route. percent_of_position is not scaled: it is already a share of this
 * route's own position, which the multiplier has scaled before.
 */
function routeQuantity(route: Route, sizing: SizingRules): Step {
  const { signal, instrument, equity } = route.input;
  const context = { instrument, positionQuantity: decimalText(route.held), equity };
  const sized = sizeSignal(signal, sizing, context);
  if (!sized.ok) return { reject: sized.code, why: sized.message };
  const quantity = new Big(sized.quantity);
  if (sizingTypeOf(signal, sizing) === 'percent_of_position') return { quantity };
  return { quantity: quantity.times(route.multiplier) };
}

/** `quantity` fitted under maxPositionQty above `held` (the size left once the closing leg, if any, filled). */
function capped(route: Route, quantity: Big, held: Big): Step {
  const { max } = route;
  if (max === undefined || held.plus(quantity).lte(max)) return { quantity };
  const room = max.minus(held);
  const fits = room.gt(0) ? lotsOf(route, room) : ZERO;
  if (fits.eq(0)) {
    return {
      skip: 'max-position-reached',
      why: `max position is ${decimalText(max)} and the position is ${holding(route)}`,
    };
  }
  return {
    quantity: fits,
    note: `size ${decimalText(quantity)} capped to ${decimalText(fits)} by max position ${decimalText(max)}`,
  };
}

/** An opening or adding quantity: sized, in whole lots, fitted under max position. */
function openQuantity(route: Route, held: Big): Step {
  const wanted = routeQuantity(route, route.input.sizing);
  if (!('quantity' in wanted)) return wanted;
  const lots = lotsOf(route, wanted.quantity);
  return lots.eq(0) ? roundsToZero(route, wanted.quantity) : capped(route, lots, held);
}

/** A reduction of `wanted` in whole lots; at least the whole position closes all of it (even a partial lot). */
function reduceBy(route: Route, wanted: Big): Step {
  if (wanted.gte(route.held)) return { quantity: route.held };
  const lots = lotsOf(route, wanted);
  return lots.eq(0) ? roundsToZero(route, wanted) : { quantity: lots };
}

/** The whole position, or the alert's quantity (its quantityType honoured, else a plain quantity) capped at it. */
function closeQuantity(route: Route): Step {
  if (route.input.signal.quantity === undefined) return { quantity: route.held };
  const wanted = routeQuantity(route, closingRules(route.input.sizing));
  return 'quantity' in wanted ? reduceBy(route, wanted.quantity) : wanted;
}

function closingLeg(route: Route, quantity: Big): PlannedLeg {
  const direction = directionOf(route.position) > 0 ? -1 : 1;
  return leg(direction, quantity, quantity.eq(route.held) ? 'close' : 'reduce');
}

/** Closes the position, then opens `open` the other way when that worked out; otherwise says why it did not. */
function reversal(route: Route, open: Step | string): RoutePlan {
  const close = closingLeg(route, route.held);
  if (typeof open === 'string') return orders([close], `closed only, not reversed: ${open}`);
  if ('reject' in open) return ended(route, open);
  if ('skip' in open) return orders([close], `closed only, not reversed: ${open.why}`);
  const legs = [
    { ...close, intent: 'reverse_close' as const },
    leg(close.side === 'buy' ? 1 : -1, open.quantity, 'reverse_open'),
  ];
  return orders(legs, open.note);
}

const NO_SHORTS = 'the strategy does not allow short positions';
const NO_REVERSALS = 'the strategy does not allow reversals';

/** buy (sentiment long or none) / sell (sentiment short or none). */
function planEntry(route: Route, direction: Direction): RoutePlan {
  const current = directionOf(route.position);
  const shortAllowed = direction > 0 || route.input.rules.allowShort;
  if (current === direction) {
    const reason = direction > 0 ? 'already-long' : 'already-short';
    return ignored(route, reason, `already ${holding(route)}; send add to grow the position`);
  }
  if (current === 0) {
    if (!shortAllowed) return ignored(route, 'short-not-allowed', `the position is ${holding(route)} and ${NO_SHORTS}`);
    const open = openQuantity(route, ZERO);
    return 'quantity' in open ? orders([leg(direction, open.quantity, 'open')], open.note) : ended(route, open);
  }
  if (!route.input.rules.allowReverse) return reversal(route, NO_REVERSALS);
  if (!shortAllowed) return reversal(route, NO_SHORTS);
  return reversal(route, openQuantity(route, ZERO));
}

/** buy + flat closes a short, sell + flat a long: never opens. */
function planFlat(route: Route, direction: Direction): RoutePlan {
  if (directionOf(route.position) !== -direction) {
    const side = direction > 0 ? 'short' : 'long';
    return ignored(route, 'no-position', `it only closes a ${side} position and the position is ${holding(route)}`);
  }
  const quantity = closeQuantity(route);
  return 'quantity' in quantity ? orders([closingLeg(route, quantity.quantity)]) : ended(route, quantity);
}

/** buy + short (TradingView's partial cover that leaves a short), sell + long: reduce by the sized quantity. */
function planReduce(route: Route, direction: Direction): RoutePlan {
  if (directionOf(route.position) !== -direction) {
    const side = direction > 0 ? 'short' : 'long';
    return ignored(route, 'no-position', `it reduces a ${side} position and the position is ${holding(route)}`);
  }
  const wanted = routeQuantity(route, route.input.sizing);
  const quantity = 'quantity' in wanted ? reduceBy(route, wanted.quantity) : wanted;
  return 'quantity' in quantity ? orders([closingLeg(route, quantity.quantity)]) : ended(route, quantity);
}

function planExit(route: Route): RoutePlan {
  if (route.held.eq(0)) return ignored(route, 'no-position', `the position is ${holding(route)}, nothing to close`);
  const quantity = closeQuantity(route);
  return 'quantity' in quantity ? orders([closingLeg(route, quantity.quantity)]) : ended(route, quantity);
}

function planAdd(route: Route): RoutePlan {
  const current = directionOf(route.position);
  if (current === 0) {
    return ignored(route, 'no-position', `the position is ${holding(route)}; send buy or sell to open one`);
  }
  if (current < 0 && !route.input.rules.allowShort) {
    return ignored(route, 'short-not-allowed', `the position is ${holding(route)} and ${NO_SHORTS}`);
  }
  const add = openQuantity(route, route.held);
  return 'quantity' in add ? orders([leg(current, add.quantity, 'add')], add.note) : ended(route, add);
}

/** positionSize: the signed target T (scaled to the route) is what counts, whatever the action says. */
function planTarget(route: Route, positionSize: string): RoutePlan {
  const requested = new Big(positionSize).times(route.multiplier);
  const clamped = requested.lt(0) && !route.input.rules.allowShort;
  const target = clamped ? ZERO : requested;
  const current = directionOf(route.position);
  const goal = directionOf(target);
  const note = clamped ? `target ${decimalText(requested)} clamped to 0: ${NO_SHORTS}` : undefined;
  if (target.eq(route.position)) {
    if (clamped) return ignored(route, 'short-not-allowed', `the position is ${holding(route)} and ${NO_SHORTS}`);
    return ignored(route, 'already-at-target', `the position is already ${holding(route)}`);
  }
  if (goal === 0) return orders([closingLeg(route, route.held)], note);
  const size = target.abs();
  if (current === -goal) {
    if (!route.input.rules.allowReverse) return reversal(route, NO_REVERSALS);
    const lots = lotsOf(route, size);
    return reversal(route, lots.eq(0) ? roundsToZero(route, size) : capped(route, lots, ZERO));
  }
  if (size.lt(route.held)) {
    const lots = lotsOf(route, route.held.minus(size));
    if (lots.eq(0)) return ended(route, roundsToZero(route, route.held.minus(size)));
    return orders([leg(-current as Direction, lots, 'reduce')], note);
  }
  const growth = size.minus(route.held);
  const lots = lotsOf(route, growth);
  const open = lots.eq(0) ? roundsToZero(route, growth) : capped(route, lots, route.held);
  if (!('quantity' in open)) return ended(route, open);
  return orders([leg(goal, open.quantity, current === 0 ? 'open' : 'add')], open.note);
}

function describeAsk(signal: Signal): string {
  const parts: string[] = [signal.action];
  if (signal.quantity !== undefined) parts.push(signal.quantity);
  if (signal.quantityType !== undefined) parts.push(signal.quantityType);
  if (signal.sentiment !== undefined) parts.push(`(sentiment ${signal.sentiment})`);
  const targets = signal.action === 'buy' || signal.action === 'sell';
  if (targets && signal.positionSize !== undefined) parts.push(`to position ${signal.positionSize}`);
  return parts.join(' ');
}

/** The route's numbers, or a rejection naming the one that is unusable (a configuration error, not the alert's). */
function routeOf(input: RouteInput): Route | RoutePlan {
  const asked = describeAsk(input.signal);
  const reject = (message: string): RoutePlan => ({
    kind: 'rejected',
    code: 'invalid-sizing',
    message: `${asked} rejected: ${message}`,
  });
  const position = parseDecimal(input.position);
  if (!position) throw new TypeError(`position "${input.position}" is not a decimal`);
  const multiplier = parseDecimal(input.routeMultiplier);
  if (!multiplier?.gt(0)) {
    return reject(`route quantity multiplier "${input.routeMultiplier}" is not a positive number`);
  }
  const lot = parseDecimal(input.instrument.lotSize);
  if (!lot?.gt(0)) return reject(`instrument lot size "${input.instrument.lotSize}" is not a positive number`);
  const max = input.rules.maxPositionQty === null ? undefined : parseDecimal(input.rules.maxPositionQty);
  if (max?.lt(0) || (max === undefined && input.rules.maxPositionQty !== null)) {
    return reject(`max position "${input.rules.maxPositionQty}" is not a number of at least 0`);
  }
  return { input, position, held: position.abs(), multiplier, max, asked };
}

export function planRoute(input: RouteInput): RoutePlan {
  const { signal } = input;
  if (signal.action === 'cancel') return { kind: 'cancel' };
  const route = routeOf(input);
  if ('kind' in route) return route;
  if (signal.action === 'exit') return planExit(route);
  if (signal.action === 'add') return planAdd(route);
  const direction: Direction = signal.action === 'buy' ? 1 : -1;
  if (signal.positionSize !== undefined) return planTarget(route, signal.positionSize);
  if (signal.sentiment === 'flat') return planFlat(route, direction);
  if (signal.sentiment === (direction > 0 ? 'short' : 'long')) return planReduce(route, direction);
  return planEntry(route, direction);
}
