/**
 * The route plan (SPEC §5): for every rule, the position before and the legs that follow, as `side quantity
 * intent` strings; then the messages a trader reads, and properties over random signals, positions and rules.
 */
import { Big } from 'big.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type PlannedLeg,
  planRoute,
  type RouteInput,
  type RoutePlan,
  type StrategyRules,
} from '../../../server/services/execution/plan.ts';
import { needsEquity, type SizingRules } from '../../../server/services/execution/sizing.ts';
import { type Signal, signalSchema } from '../../../shared/schemas/signal.ts';

function signal(fields: Partial<Signal>): Signal {
  return signalSchema.parse({ ticker: 'AAPL', ...fields });
}

const OPEN_RULES: StrategyRules = { allowShort: true, allowReverse: true, maxPositionQty: null };
const FIXED_TWO: SizingRules = { sizingType: 'fixed_quantity', sizingValue: '2', useSignalQuantity: true };

interface Case {
  position: string;
  rules?: Partial<StrategyRules>;
  sizing?: Partial<SizingRules>;
  routeMultiplier?: string;
  instrument?: { multiplier: string; lotSize: string };
  equity?: string;
}

function route(fields: Partial<Signal>, c: Case): RouteInput {
  return {
    signal: signal(fields),
    position: c.position,
    rules: { ...OPEN_RULES, ...c.rules },
    sizing: { ...FIXED_TWO, ...c.sizing },
    routeMultiplier: c.routeMultiplier ?? '1',
    instrument: c.instrument ?? { multiplier: '1', lotSize: '1' },
    ...(c.equity === undefined ? {} : { equity: c.equity }),
  };
}

/** `['buy 3 reverse_close', 'buy 2 reverse_open']`, `'ignored already-long'`, `'rejected missing-price'`, `'cancel'`. */
function summary(plan: RoutePlan): string[] | string {
  switch (plan.kind) {
    case 'orders':
      return plan.legs.map((l) => `${l.side} ${l.quantity} ${l.intent}`);
    case 'ignored':
      return `ignored ${plan.reason}`;
    case 'rejected':
      return `rejected ${plan.code}`;
    case 'cancel':
      return 'cancel';
  }
}

type Row = [string, Partial<Signal>, Case, string[] | string];
const NO_SHORT = { allowShort: false };
const NO_REVERSE = { allowReverse: false };

function table(rows: Row[]) {
  it.each(rows)('%s', (_name, fields, c, expected) => {
    expect(summary(planRoute(route(fields, c)))).toEqual(expected);
  });
}

describe('buy and sell (sentiment long/short or none)', () => {
  table([
    ['buy, flat → open long', { action: 'buy' }, { position: '0' }, ['buy 2 open']],
    ['buy sentiment long, flat → open long', { action: 'buy', sentiment: 'long' }, { position: '0' }, ['buy 2 open']],
    ['buy, long → already long', { action: 'buy' }, { position: '3' }, 'ignored already-long'],
    ['buy, short → reverse', { action: 'buy' }, { position: '-3' }, ['buy 3 reverse_close', 'buy 2 reverse_open']],
    [
      'buy, short, no reversals → close only',
      { action: 'buy' },
      { position: '-3', rules: NO_REVERSE },
      ['buy 3 close'],
    ],
    [
      'buy, short, no shorts → still reverses into a long',
      { action: 'buy' },
      { position: '-3', rules: NO_SHORT },
      ['buy 3 reverse_close', 'buy 2 reverse_open'],
    ],
    ['sell, flat → open short', { action: 'sell' }, { position: '0' }, ['sell 2 open']],
    [
      'sell, flat, no shorts → refused',
      { action: 'sell' },
      { position: '0', rules: NO_SHORT },
      'ignored short-not-allowed',
    ],
    [
      'sell, short → already short',
      { action: 'sell', sentiment: 'short' },
      { position: '-3' },
      'ignored already-short',
    ],
    ['sell, long → reverse', { action: 'sell' }, { position: '3' }, ['sell 3 reverse_close', 'sell 2 reverse_open']],
    ['sell, long, no shorts → close only', { action: 'sell' }, { position: '3', rules: NO_SHORT }, ['sell 3 close']],
    [
      'sell, long, no reversals → close only',
      { action: 'sell' },
      { position: '3', rules: NO_REVERSE },
      ['sell 3 close'],
    ],
    [
      'a fractional position closes whole',
      { action: 'sell' },
      { position: '2.5' },
      ['sell 2.5 reverse_close', 'sell 2 reverse_open'],
    ],
  ]);
});

describe('sentiment flat closes one side and never opens', () => {
  table([
    ['buy flat, short → close it', { action: 'buy', sentiment: 'flat' }, { position: '-3' }, ['buy 3 close']],
    [
      'buy flat 1, short 3 → reduce',
      { action: 'buy', sentiment: 'flat', quantity: '1' },
      { position: '-3' },
      ['buy 1 reduce'],
    ],
    [
      'buy flat 5, short 3 → capped',
      { action: 'buy', sentiment: 'flat', quantity: '5' },
      { position: '-3' },
      ['buy 3 close'],
    ],
    ['buy flat, flat → nothing', { action: 'buy', sentiment: 'flat' }, { position: '0' }, 'ignored no-position'],
    ['buy flat, long → nothing', { action: 'buy', sentiment: 'flat' }, { position: '3' }, 'ignored no-position'],
    ['sell flat, long → close it', { action: 'sell', sentiment: 'flat' }, { position: '3' }, ['sell 3 close']],
    [
      'sell flat 2, long 3 → reduce',
      { action: 'sell', sentiment: 'flat', quantity: '2' },
      { position: '3' },
      ['sell 2 reduce'],
    ],
    ['sell flat, short → nothing', { action: 'sell', sentiment: 'flat' }, { position: '-3' }, 'ignored no-position'],
    ['sell flat, flat → nothing', { action: 'sell', sentiment: 'flat' }, { position: '0' }, 'ignored no-position'],
    [
      'sell flat ignores the strategy sizing (no price needed)',
      { action: 'sell', sentiment: 'flat' },
      { position: '3', sizing: { sizingType: 'dollar_amount', sizingValue: '1000', useSignalQuantity: false } },
      ['sell 3 close'],
    ],
    [
      'sell flat 2 takes the quantity even when the strategy ignores signal quantities',
      { action: 'sell', sentiment: 'flat', quantity: '2' },
      { position: '3', sizing: { useSignalQuantity: false, sizingValue: '5' } },
      ['sell 2 reduce'],
    ],
  ]);
});

describe('buy with sentiment short / sell with sentiment long: a partial cover', () => {
  table([
    [
      'buy short 1, short 3 → reduce',
      { action: 'buy', sentiment: 'short', quantity: '1' },
      { position: '-3' },
      ['buy 1 reduce'],
    ],
    [
      'buy short 5, short 3 → close',
      { action: 'buy', sentiment: 'short', quantity: '5' },
      { position: '-3' },
      ['buy 3 close'],
    ],
    [
      'buy short, flat → nothing',
      { action: 'buy', sentiment: 'short', quantity: '1' },
      { position: '0' },
      'ignored no-position',
    ],
    [
      'buy short, long → nothing',
      { action: 'buy', sentiment: 'short', quantity: '1' },
      { position: '2' },
      'ignored no-position',
    ],
    [
      'sell long 1, long 3 → reduce',
      { action: 'sell', sentiment: 'long', quantity: '1' },
      { position: '3' },
      ['sell 1 reduce'],
    ],
    [
      'sell long, flat → nothing',
      { action: 'sell', sentiment: 'long', quantity: '1' },
      { position: '0' },
      'ignored no-position',
    ],
    [
      'sized by the strategy when it ignores signal quantities',
      { action: 'sell', sentiment: 'long', quantity: '1' },
      { position: '5', sizing: { useSignalQuantity: false, sizingValue: '3' } },
      ['sell 3 reduce'],
    ],
  ]);
});

describe('exit, add and cancel', () => {
  table([
    ['exit, long → close', { action: 'exit' }, { position: '3' }, ['sell 3 close']],
    ['exit, short → close', { action: 'exit' }, { position: '-3' }, ['buy 3 close']],
    ['exit, flat → nothing', { action: 'exit' }, { position: '0' }, 'ignored no-position'],
    ['exit 1, long 3 → reduce', { action: 'exit', quantity: '1' }, { position: '3' }, ['sell 1 reduce']],
    ['exit 4, long 3 → close', { action: 'exit', quantity: '4' }, { position: '3' }, ['sell 3 close']],
    ['exit 1, short 2.5 → reduce', { action: 'exit', quantity: '1' }, { position: '-2.5' }, ['buy 1 reduce']],
    [
      'exit 50% of the position',
      { action: 'exit', quantity: '50', quantityType: 'percent_of_position' },
      { position: '6' },
      ['sell 3 reduce'],
    ],
    [
      'exit needs no price under a dollar sizing',
      { action: 'exit' },
      { position: '3', sizing: { sizingType: 'dollar_amount', sizingValue: '1000', useSignalQuantity: false } },
      ['sell 3 close'],
    ],
    ['add, long → grow', { action: 'add', quantity: '2' }, { position: '3' }, ['buy 2 add']],
    ['add, short → grow', { action: 'add', quantity: '2' }, { position: '-3' }, ['sell 2 add']],
    [
      'add, short, no shorts → refused',
      { action: 'add' },
      { position: '-3', rules: NO_SHORT },
      'ignored short-not-allowed',
    ],
    ['add, flat → nothing', { action: 'add' }, { position: '0' }, 'ignored no-position'],
    [
      'add 50% of the position',
      { action: 'add', quantity: '50', quantityType: 'percent_of_position' },
      { position: '4' },
      ['buy 2 add'],
    ],
    ['cancel, long', { action: 'cancel' }, { position: '3' }, 'cancel'],
    ['cancel, flat', { action: 'cancel' }, { position: '0' }, 'cancel'],
  ]);
});

describe('positionSize: the target T overrides the action', () => {
  table([
    ['T 5 from flat → open', { action: 'buy', positionSize: '5' }, { position: '0' }, ['buy 5 open']],
    ['T 5 from 2 → add', { action: 'buy', positionSize: '5' }, { position: '2' }, ['buy 3 add']],
    ['T 2 from 5 → reduce', { action: 'buy', positionSize: '2' }, { position: '5' }, ['sell 3 reduce']],
    ['T 0 from long 5 → close', { action: 'sell', positionSize: '0' }, { position: '5' }, ['sell 5 close']],
    ['T 0 from short 5 → close', { action: 'buy', positionSize: '0' }, { position: '-5' }, ['buy 5 close']],
    ['T −3 from −1 → add', { action: 'sell', positionSize: '-3' }, { position: '-1' }, ['sell 2 add']],
    ['T −1 from −3 → reduce', { action: 'buy', positionSize: '-1' }, { position: '-3' }, ['buy 2 reduce']],
    [
      'T −2 from 3 → reverse',
      { action: 'sell', positionSize: '-2' },
      { position: '3' },
      ['sell 3 reverse_close', 'sell 2 reverse_open'],
    ],
    [
      'T 4 from −2 → reverse',
      { action: 'buy', positionSize: '4' },
      { position: '-2' },
      ['buy 2 reverse_close', 'buy 4 reverse_open'],
    ],
    [
      'T −2 from 3, no reversals → close',
      { action: 'sell', positionSize: '-2' },
      { position: '3', rules: NO_REVERSE },
      ['sell 3 close'],
    ],
    [
      'T −2 from 3, no shorts → clamped to 0',
      { action: 'sell', positionSize: '-2' },
      { position: '3', rules: NO_SHORT },
      ['sell 3 close'],
    ],
    [
      'T −3 from −2, no shorts → clamped to 0',
      { action: 'sell', positionSize: '-3' },
      { position: '-2', rules: NO_SHORT },
      ['buy 2 close'],
    ],
    [
      'T −2 from flat, no shorts → refused',
      { action: 'sell', positionSize: '-2' },
      { position: '0', rules: NO_SHORT },
      'ignored short-not-allowed',
    ],
    ['T 3 at 3 → nothing', { action: 'buy', positionSize: '3' }, { position: '3' }, 'ignored already-at-target'],
    ['T 0 when flat → nothing', { action: 'sell', positionSize: '0' }, { position: '0' }, 'ignored already-at-target'],
    [
      'T over sentiment flat',
      { action: 'buy', sentiment: 'flat', positionSize: '2' },
      { position: '0' },
      ['buy 2 open'],
    ],
    ['T over the quantity', { action: 'buy', quantity: '10', positionSize: '5' }, { position: '2' }, ['buy 3 add']],
    [
      'T scaled by the route',
      { action: 'buy', positionSize: '3' },
      { position: '0', routeMultiplier: '2' },
      ['buy 6 open'],
    ],
    ['T growth below a lot', { action: 'buy', positionSize: '3.5' }, { position: '3' }, 'ignored zero-quantity'],
    [
      'T needs no sizing (no price under a dollar sizing)',
      { action: 'buy', positionSize: '2' },
      { position: '0', sizing: { sizingType: 'dollar_amount', sizingValue: '1000', useSignalQuantity: false } },
      ['buy 2 open'],
    ],
  ]);
});

describe('maxPositionQty caps opening and adding, never closing', () => {
  const max = (maxPositionQty: string) => ({ maxPositionQty });
  table([
    ['open 10 under max 5 → 5', { action: 'buy', quantity: '10' }, { position: '0', rules: max('5') }, ['buy 5 open']],
    ['open 3 under max 5 → 3', { action: 'buy', quantity: '3' }, { position: '0', rules: max('5') }, ['buy 3 open']],
    [
      'open under max 0 → nothing',
      { action: 'buy' },
      { position: '0', rules: max('0') },
      'ignored max-position-reached',
    ],
    ['add 3 at 4 under max 5 → 1', { action: 'add', quantity: '3' }, { position: '4', rules: max('5') }, ['buy 1 add']],
    [
      'add at max → nothing',
      { action: 'add', quantity: '3' },
      { position: '5', rules: max('5') },
      'ignored max-position-reached',
    ],
    [
      'add over max → nothing',
      { action: 'add', quantity: '3' },
      { position: '-7', rules: max('5') },
      'ignored max-position-reached',
    ],
    [
      'reverse: the opening leg is capped',
      { action: 'buy', quantity: '10' },
      { position: '-3', rules: max('5') },
      ['buy 3 reverse_close', 'buy 5 reverse_open'],
    ],
    [
      'reverse under max 0 → close only',
      { action: 'buy', quantity: '10' },
      { position: '-3', rules: max('0') },
      ['buy 3 close'],
    ],
    ['exit over max → whole close', { action: 'exit' }, { position: '10', rules: max('5') }, ['sell 10 close']],
    [
      'T 10 from 2 under max 5 → add 3',
      { action: 'buy', positionSize: '10' },
      { position: '2', rules: max('5') },
      ['buy 3 add'],
    ],
    [
      'T 10 from 6 under max 5 → nothing',
      { action: 'buy', positionSize: '10' },
      { position: '6', rules: max('5') },
      'ignored max-position-reached',
    ],
    [
      'T 3 from 6 under max 5 → reduce',
      { action: 'buy', positionSize: '3' },
      { position: '6', rules: max('5') },
      ['sell 3 reduce'],
    ],
    [
      'T −9 from 2 under max 4 → reverse to 4',
      { action: 'sell', positionSize: '-9' },
      { position: '2', rules: max('4') },
      ['sell 2 reverse_close', 'sell 4 reverse_open'],
    ],
    [
      'a max that is not a whole number of lots',
      { action: 'buy', quantity: '10' },
      { position: '0', rules: max('5'), instrument: { multiplier: '1', lotSize: '2' } },
      ['buy 4 open'],
    ],
    [
      'a database decimal max',
      { action: 'buy', quantity: '10' },
      { position: '0', rules: max('5.00000000') },
      ['buy 5 open'],
    ],
  ]);
});

describe('route multiplier and lot rounding', () => {
  const lot = (lotSize: string) => ({ multiplier: '1', lotSize });
  table([
    ['× 2', { action: 'buy', quantity: '3' }, { position: '0', routeMultiplier: '2' }, ['buy 6 open']],
    [
      '× 0.5, rounded down',
      { action: 'buy', quantity: '3' },
      { position: '0', routeMultiplier: '0.5' },
      ['buy 1 open'],
    ],
    [
      '× 0.5 of 1 → 0',
      { action: 'buy', quantity: '1' },
      { position: '0', routeMultiplier: '0.5' },
      'ignored zero-quantity',
    ],
    [
      '0.37 in lots of 0.1',
      { action: 'buy', quantity: '0.37' },
      { position: '0', instrument: lot('0.1') },
      ['buy 0.3 open'],
    ],
    ['7 in lots of 5', { action: 'buy', quantity: '7' }, { position: '0', instrument: lot('5') }, ['buy 5 open']],
    [
      '3 in lots of 5',
      { action: 'buy', quantity: '3' },
      { position: '0', instrument: lot('5') },
      'ignored zero-quantity',
    ],
    [
      'add 3 in lots of 5',
      { action: 'add', quantity: '3' },
      { position: '5', instrument: lot('5') },
      'ignored zero-quantity',
    ],
    [
      'a reversal whose opening leg rounds to 0 → the close',
      { action: 'buy', quantity: '3' },
      { position: '-5', instrument: lot('5') },
      ['buy 5 close'],
    ],
    [
      'exit 0.37 in lots of 0.1',
      { action: 'exit', quantity: '0.37' },
      { position: '1', instrument: lot('0.1') },
      ['sell 0.3 reduce'],
    ],
    [
      'exit 0.05 in lots of 0.1',
      { action: 'exit', quantity: '0.05' },
      { position: '1', instrument: lot('0.1') },
      'ignored zero-quantity',
    ],
    [
      'a partial exit is scaled by the route',
      { action: 'exit', quantity: '1' },
      { position: '6', routeMultiplier: '2' },
      ['sell 2 reduce'],
    ],
    [
      'percent_of_position is not scaled again (it is a share of this route)',
      { action: 'add', quantity: '50', quantityType: 'percent_of_position' },
      { position: '4', routeMultiplier: '2' },
      ['buy 2 add'],
    ],
    ['an odd position closes whole', { action: 'exit' }, { position: '2.5', instrument: lot('1') }, ['sell 2.5 close']],
  ]);
});

describe('sizing inside the plan', () => {
  const strategy = (sizingType: SizingRules['sizingType'], sizingValue: string) => ({
    sizing: { sizingType, sizingValue, useSignalQuantity: false },
  });
  table([
    [
      'dollar_amount 1000 at 187.35',
      { action: 'buy', price: '187.35' },
      { position: '0', ...strategy('dollar_amount', '1000') },
      ['buy 5 open'],
    ],
    [
      'risk 100 on MNQ, entry 18000, stop 17990',
      { action: 'buy', price: '18000', stopLoss: { stopPrice: '17990' } },
      { position: '0', instrument: { multiplier: '2', lotSize: '1' }, ...strategy('risk_dollar_amount', '100') },
      ['buy 5 open'],
    ],
    [
      'percent_of_equity 10% of 25000 at 50',
      { action: 'buy', price: '50' },
      { position: '0', equity: '25000', ...strategy('percent_of_equity', '10') },
      ['buy 50 open'],
    ],
    [
      'no price → rejected',
      { action: 'buy' },
      { position: '0', ...strategy('dollar_amount', '1000') },
      'rejected missing-price',
    ],
    [
      'no price on a reversal → rejected',
      { action: 'buy' },
      { position: '-3', ...strategy('dollar_amount', '1000') },
      'rejected missing-price',
    ],
    [
      'no price when only closing → the close',
      { action: 'buy' },
      { position: '-3', rules: NO_REVERSE, ...strategy('dollar_amount', '1000') },
      ['buy 3 close'],
    ],
    [
      'no stop → rejected',
      { action: 'buy', price: '100' },
      { position: '0', ...strategy('risk_dollar_amount', '100') },
      'rejected missing-stop',
    ],
    [
      'no equity → rejected',
      { action: 'buy', price: '50' },
      { position: '0', ...strategy('percent_of_equity', '10') },
      'rejected missing-equity',
    ],
    [
      'percent_of_position from flat → 0',
      { action: 'buy' },
      { position: '0', ...strategy('percent_of_position', '50') },
      'ignored zero-quantity',
    ],
    [
      'percent_of_position reverses the same size',
      { action: 'sell' },
      { position: '4', ...strategy('percent_of_position', '100') },
      ['sell 4 reverse_close', 'sell 4 reverse_open'],
    ],
    [
      'a quantityType without quantity',
      { action: 'buy', quantityType: 'dollar_amount' },
      { position: '0' },
      'rejected invalid-sizing',
    ],
    ['a zero route multiplier', { action: 'buy' }, { position: '0', routeMultiplier: '0' }, 'rejected invalid-sizing'],
    [
      'a zero lot size',
      { action: 'exit' },
      { position: '1', instrument: { multiplier: '1', lotSize: '0' } },
      'rejected invalid-sizing',
    ],
    [
      'a negative max position',
      { action: 'buy' },
      { position: '0', rules: { maxPositionQty: '-1' } },
      'rejected invalid-sizing',
    ],
  ]);
});

describe('messages for the trader', () => {
  const plan = (fields: Partial<Signal>, c: Case) => planRoute(route(fields, c));

  it('say what was asked, what the position was, and why', () => {
    expect(plan({ action: 'buy' }, { position: '3' })).toEqual({
      kind: 'ignored',
      reason: 'already-long',
      message: 'buy ignored: already long 3 AAPL; send add to grow the position',
    });
    expect(plan({ action: 'sell', quantity: '2' }, { position: '0', rules: NO_SHORT })).toMatchObject({
      message: 'sell 2 ignored: the position is flat on AAPL and the strategy does not allow short positions',
    });
    expect(plan({ action: 'buy', sentiment: 'flat' }, { position: '3' })).toMatchObject({
      message: 'buy (sentiment flat) ignored: it only closes a short position and the position is long 3 AAPL',
    });
    expect(plan({ action: 'exit' }, { position: '0' })).toMatchObject({
      message: 'exit ignored: the position is flat on AAPL, nothing to close',
    });
    expect(plan({ action: 'add' }, { position: '0' })).toMatchObject({
      message: 'add ignored: the position is flat on AAPL; send buy or sell to open one',
    });
    expect(
      plan({ action: 'buy', quantity: '3' }, { position: '0', instrument: { multiplier: '1', lotSize: '5' } }),
    ).toMatchObject({ message: 'buy 3 ignored: the size 3 rounds down to 0 with lot size 5' });
    expect(plan({ action: 'add', quantity: '1' }, { position: '5', rules: { maxPositionQty: '5' } })).toMatchObject({
      message: 'add 1 ignored: max position is 5 and the position is long 5 AAPL',
    });
    expect(plan({ action: 'buy', positionSize: '-2' }, { position: '-2' })).toMatchObject({
      message: 'buy to position -2 ignored: the position is already short 2 AAPL',
    });
    expect(
      plan({ action: 'buy' }, { position: '0', sizing: { sizingType: 'dollar_amount', useSignalQuantity: false } }),
    ).toEqual({
      kind: 'rejected',
      code: 'missing-price',
      message:
        'buy rejected: the strategy\'s dollar_amount sizing of 2 needs a price: send limitPrice or price (e.g. "price": {{close}})',
    });
  });

  it('name the broker symbol when given', () => {
    const input = { ...route({ action: 'buy', ticker: 'MNQ1!' }, { position: '2' }), symbol: 'MNQZ5' };
    expect(planRoute(input)).toMatchObject({
      message: 'buy ignored: already long 2 MNQZ5; send add to grow the position',
    });
  });

  it('note what part of the signal was left out', () => {
    expect(plan({ action: 'buy' }, { position: '-3', rules: NO_REVERSE })).toEqual({
      kind: 'orders',
      legs: [{ side: 'buy', quantity: '3', intent: 'close' }],
      note: 'closed only, not reversed: the strategy does not allow reversals',
    });
    expect(plan({ action: 'sell' }, { position: '3', rules: NO_SHORT })).toMatchObject({
      note: 'closed only, not reversed: the strategy does not allow short positions',
    });
    expect(plan({ action: 'buy', quantity: '10' }, { position: '0', rules: { maxPositionQty: '4' } })).toMatchObject({
      legs: [{ side: 'buy', quantity: '4', intent: 'open' }],
      note: 'size 10 capped to 4 by max position 4',
    });
    expect(plan({ action: 'sell', positionSize: '-2' }, { position: '0', rules: NO_SHORT })).toMatchObject({
      message:
        'sell to position -2 ignored: the position is flat on AAPL and the strategy does not allow short positions',
    });
    expect(plan({ action: 'sell', positionSize: '-2' }, { position: '3', rules: NO_SHORT })).toMatchObject({
      note: 'target -2 clamped to 0: the strategy does not allow short positions',
    });
    expect(plan({ action: 'buy' }, { position: '0' })).not.toHaveProperty('note');
  });
});

describe('properties', () => {
  const decimal = (min: number, max: number, scale: number) =>
    fc.integer({ min, max }).map((n) => new Big(n).div(scale).toFixed());
  const CANONICAL_POSITIVE = /^(0|[1-9]\d*)(\.\d*[1-9])?$/;
  const CLOSING = new Set(['close', 'reduce', 'reverse_close']);

  const arbitraryInput = fc
    .record({
      action: fc.constantFrom('buy', 'sell', 'exit', 'add', 'cancel'),
      sentiment: fc.option(fc.constantFrom('long', 'short', 'flat'), { nil: undefined }),
      quantity: fc.option(decimal(1, 300, 10), { nil: undefined }),
      quantityType: fc.option(fc.constantFrom('fixed_quantity', 'percent_of_position', 'percent_of_equity'), {
        nil: undefined,
      }),
      positionSize: fc.option(decimal(-300, 300, 10), { nil: undefined }),
      position: decimal(-300, 300, 10),
      allowShort: fc.boolean(),
      allowReverse: fc.boolean(),
      maxPositionQty: fc.option(decimal(0, 200, 10), { nil: null }),
      sizingType: fc.constantFrom('fixed_quantity', 'dollar_amount', 'percent_of_position', 'percent_of_equity'),
      sizingValue: decimal(1, 500, 10),
      useSignalQuantity: fc.boolean(),
      routeMultiplier: fc.constantFrom('1', '2', '0.5', '3'),
      lotSize: fc.constantFrom('1', '0.1', '5', '0.25'),
      equity: fc.option(decimal(0, 10_000_000, 100), { nil: undefined }),
    })
    .map((r): RouteInput => {
      const targets = r.action === 'buy' || r.action === 'sell';
      return {
        signal: signal({
          action: r.action,
          price: '25.5',
          ...(targets && r.sentiment ? { sentiment: r.sentiment } : {}),
          ...(r.quantity ? { quantity: r.quantity } : {}),
          ...(r.quantityType ? { quantityType: r.quantityType } : {}),
          ...(targets && r.positionSize ? { positionSize: r.positionSize } : {}),
        }),
        position: r.position,
        rules: { allowShort: r.allowShort, allowReverse: r.allowReverse, maxPositionQty: r.maxPositionQty },
        sizing: { sizingType: r.sizingType, sizingValue: r.sizingValue, useSignalQuantity: r.useSignalQuantity },
        routeMultiplier: r.routeMultiplier,
        instrument: { multiplier: '1', lotSize: r.lotSize },
        ...(r.equity === undefined ? {} : { equity: r.equity }),
      };
    });

  /** Applies the legs in order, checking each against the rules; returns the closing total. */
  function replay(input: RouteInput, legs: PlannedLeg[]): Big {
    const { allowShort, allowReverse, maxPositionQty } = input.rules;
    let position = new Big(input.position);
    let closed = new Big(0);
    for (const l of legs) {
      const quantity = new Big(l.quantity);
      expect(l.quantity).toMatch(CANONICAL_POSITIVE);
      expect(quantity.gt(0)).toBe(true);
      const signed = l.side === 'buy' ? quantity : quantity.neg();
      const after = position.plus(signed);
      if (CLOSING.has(l.intent)) {
        // Toward zero and never past it; `close` lands on it, `reduce` stops short.
        expect(position.eq(0)).toBe(false);
        expect(l.side).toBe(position.gt(0) ? 'sell' : 'buy');
        expect(quantity.lte(position.abs())).toBe(true);
        expect(after.eq(0)).toBe(l.intent !== 'reduce');
        closed = closed.plus(quantity);
      } else {
        expect(l.intent === 'add' ? !position.eq(0) : position.eq(0)).toBe(true);
        if (l.intent === 'add') expect(position.gt(0)).toBe(signed.gt(0));
        expect(quantity.mod(input.instrument.lotSize).eq(0)).toBe(true);
        if (maxPositionQty !== null) expect(after.abs().lte(maxPositionQty)).toBe(true);
        if (after.lt(0)) expect(allowShort).toBe(true);
      }
      position = after;
    }
    const intents = legs.map((l) => l.intent);
    if (intents.includes('reverse_close') || intents.includes('reverse_open')) {
      expect(intents).toEqual(['reverse_close', 'reverse_open']);
      expect(allowReverse).toBe(true);
    } else {
      expect(legs.length).toBe(1);
    }
    return closed;
  }

  it('legs respect the position, the rules and max position, in canonical positive quantities', () => {
    fc.assert(
      fc.property(arbitraryInput, (input) => {
        const plan = planRoute(input);
        if (input.signal.action === 'cancel') expect(plan).toEqual({ kind: 'cancel' });
        if (plan.kind !== 'orders') return;
        const closed = replay(input, plan.legs);
        expect(closed.lte(new Big(input.position).abs())).toBe(true);
        const closesOnly =
          input.signal.action === 'exit' || (input.signal.sentiment === 'flat' && !input.signal.positionSize);
        if (closesOnly) expect(plan.legs.every((l) => CLOSING.has(l.intent))).toBe(true);
      }),
      { numRuns: 3000, seed: 20251122 },
    );
  });

  it('asks for equity whenever the plan could need it (no missing-equity after needsEquity said no)', () => {
    fc.assert(
      fc.property(arbitraryInput, (input) => {
        const { equity: _equity, ...withoutEquity } = input;
        const plan = planRoute(withoutEquity);
        if (plan.kind === 'rejected' && plan.code === 'missing-equity') {
          expect(needsEquity(input.signal, input.sizing)).toBe(true);
        }
      }),
      { numRuns: 3000, seed: 20251123 },
    );
  });
});
