/**
 * Sizing (SPEC §5 "Quantity"): which sizing applies, every mode against hand-computed values, exact lot rounding,
 * and when the engine has to fetch the account equity.
 */
import { describe, expect, it } from 'vitest';
import {
  needsEquity,
  roundToLot,
  type SizingContext,
  type SizingResult,
  type SizingRules,
  sizeSignal,
} from '../../../server/services/execution/sizing.ts';
import { type Signal, signalSchema } from '../../../shared/schemas/signal.ts';

/** A schema-valid signal: tests never feed the sizer something the normalizer could not produce. */
function signal(fields: Partial<Signal> = {}): Signal {
  return signalSchema.parse({ ticker: 'AAPL', action: 'buy', ...fields });
}

const FIXED_ONE: SizingRules = { sizingType: 'fixed_quantity', sizingValue: '1', useSignalQuantity: true };
const strategy = (sizingType: SizingRules['sizingType'], sizingValue: string): SizingRules => ({
  sizingType,
  sizingValue,
  useSignalQuantity: false,
});
const STOCK: SizingContext = { instrument: { multiplier: '1', lotSize: '1' }, positionQuantity: '0' };
const MNQ: SizingContext = { instrument: { multiplier: '2', lotSize: '1' }, positionQuantity: '0' };
const ES: SizingContext = { instrument: { multiplier: '50', lotSize: '1' }, positionQuantity: '0' };

const quantity = (value: string): SizingResult => ({ ok: true, quantity: value });
const error = (code: string) => expect.objectContaining({ ok: false, code });

describe('which sizing applies', () => {
  it.each<[string, Partial<Signal>, SizingRules, SizingResult]>([
    ["the strategy's fixed quantity", {}, strategy('fixed_quantity', '3'), quantity('3')],
    ['a database decimal, canonical', {}, strategy('fixed_quantity', '2.50000000'), quantity('2.5')],
    ["the signal's quantity when the strategy uses it", { quantity: '7' }, FIXED_ONE, quantity('7')],
    ["the strategy's sizing when it does not", { quantity: '7' }, strategy('fixed_quantity', '3'), quantity('3')],
    ['the strategy sizing when the signal has no quantity', {}, FIXED_ONE, quantity('1')],
    [
      "the signal's quantityType, even over a strategy that ignores signal quantities",
      { quantity: '500', quantityType: 'dollar_amount', price: '100' },
      strategy('fixed_quantity', '3'),
      quantity('5'),
    ],
    [
      'a fixed_quantity quantityType',
      { quantity: '4', quantityType: 'fixed_quantity' },
      strategy('dollar_amount', '1000'),
      quantity('4'),
    ],
  ])('%s', (_name, fields, rules, expected) => {
    expect(sizeSignal(signal(fields), rules, STOCK)).toEqual(expected);
  });

  it('refuses a quantityType without a quantity, and a sizing value that is not positive', () => {
    expect(sizeSignal(signal({ quantityType: 'percent_of_equity' }), FIXED_ONE, STOCK)).toEqual({
      ok: false,
      code: 'invalid-sizing',
      message: "the alert's quantityType percent_of_equity needs a quantity",
    });
    for (const value of ['0', '-1', 'abc', '']) {
      expect(sizeSignal(signal(), strategy('fixed_quantity', value), STOCK)).toEqual(error('invalid-sizing'));
    }
    const badMultiplier = { ...STOCK, instrument: { multiplier: '0', lotSize: '1' } };
    expect(sizeSignal(signal({ price: '10' }), strategy('dollar_amount', '100'), badMultiplier)).toEqual(
      error('invalid-sizing'),
    );
  });
});

describe('dollar_amount = amount / (price × multiplier)', () => {
  it('keeps full precision, truncated (never rounded up), until the lot rounding', () => {
    const sized = sizeSignal(signal({ price: '187.35' }), strategy('dollar_amount', '1000'), STOCK);
    expect(sized).toEqual(quantity('5.3376034160661862823592207099012543368027'));
    expect(sized.ok && roundToLot(sized.quantity, '1')).toBe('5');
    expect(sizeSignal(signal({ price: '3' }), strategy('dollar_amount', '200'), STOCK)).toEqual(
      quantity(`66.${'6'.repeat(40)}`),
    );
  });

  it('prices a limit order at its limit, and scales by the contract multiplier', () => {
    const rules = strategy('dollar_amount', '1000');
    expect(sizeSignal(signal({ price: '100', limitPrice: '50' }), rules, STOCK)).toEqual(quantity('20'));
    expect(sizeSignal(signal({ price: '5000' }), strategy('dollar_amount', '10000'), ES)).toEqual(quantity('0.04'));
  });

  it('needs a price', () => {
    expect(sizeSignal(signal(), strategy('dollar_amount', '1000'), STOCK)).toEqual({
      ok: false,
      code: 'missing-price',
      message: `the strategy's dollar_amount sizing of 1000 needs a price: send limitPrice or price (e.g. "price": {{close}})`,
    });
  });
});

describe('risk_dollar_amount = risk / (|entry − stop| × multiplier)', () => {
  it.each<[string, Partial<Signal>, SizingContext, string, string]>([
    ['entry 100, stop 98', { price: '100', stopPrice: '98' }, STOCK, '200', '100'],
    ['MNQ ×2, entry 18000, stop 17990', { price: '18000', stopPrice: '17990' }, MNQ, '100', '5'],
    ['a short: stop above the entry', { price: '100', stopPrice: '104' }, STOCK, '200', '50'],
    [
      'stopLoss.stopPrice over stopPrice',
      { price: '100', stopPrice: '98', stopLoss: { stopPrice: '95' } },
      STOCK,
      '200',
      '40',
    ],
    ['the limit price as entry', { price: '120', limitPrice: '100', stopPrice: '98' }, STOCK, '200', '100'],
    ['stopLoss.amount as the distance', { price: '100', stopLoss: { amount: '2' } }, STOCK, '200', '100'],
    ['stopLoss.percent of the entry', { price: '100', stopLoss: { percent: '2' } }, STOCK, '200', '100'],
    ['a stop-limit stop loss', { price: '50', stopLoss: { stopPrice: '49', limitPrice: '48.9' } }, STOCK, '30', '30'],
  ])('%s', (_name, fields, context, risk, expected) => {
    expect(sizeSignal(signal(fields), strategy('risk_dollar_amount', risk), context)).toEqual(quantity(expected));
  });

  it('needs a stop away from the entry, and an entry', () => {
    const rules = strategy('risk_dollar_amount', '200');
    expect(sizeSignal(signal({ price: '100' }), rules, STOCK)).toEqual({
      ok: false,
      code: 'missing-stop',
      message:
        "the strategy's risk_dollar_amount sizing of 200 needs a stop: send stopLoss (stopPrice, amount or percent) or stopPrice",
    });
    expect(sizeSignal(signal({ price: '100', stopPrice: '100' }), rules, STOCK)).toEqual({
      ok: false,
      code: 'missing-stop',
      message:
        "the strategy's risk_dollar_amount sizing of 200 needs a stop away from the entry 100: the risk per unit is 0",
    });
    expect(sizeSignal(signal({ stopPrice: '98' }), rules, STOCK)).toEqual(error('missing-price'));
  });
});

describe('percent_of_equity = equity × percent / 100 / (price × multiplier)', () => {
  const rules = strategy('percent_of_equity', '10');

  it('sizes from the account equity', () => {
    expect(sizeSignal(signal({ price: '50' }), rules, { ...STOCK, equity: '25000' })).toEqual(quantity('50'));
    expect(sizeSignal(signal({ price: '5000' }), rules, { ...ES, equity: '100000' })).toEqual(quantity('0.04'));
    expect(sizeSignal(signal({ price: '50' }), rules, { ...STOCK, equity: '25000.00000000' })).toEqual(quantity('50'));
  });

  it('sizes 0 from an account with no equity', () => {
    expect(sizeSignal(signal({ price: '50' }), rules, { ...STOCK, equity: '0' })).toEqual(quantity('0'));
    expect(sizeSignal(signal({ price: '50' }), rules, { ...STOCK, equity: '-1200' })).toEqual(quantity('0'));
  });

  it('needs the equity and a price, the price first (so equity is fetched only for a signal that can use it)', () => {
    expect(sizeSignal(signal({ price: '50' }), rules, STOCK)).toEqual({
      ok: false,
      code: 'missing-equity',
      message: "the strategy's percent_of_equity sizing of 10 needs the account equity",
    });
    expect(sizeSignal(signal({ price: '50' }), rules, { ...STOCK, equity: 'n/a' })).toEqual(error('missing-equity'));
    expect(sizeSignal(signal(), rules, STOCK)).toEqual(error('missing-price'));
    expect(sizeSignal(signal(), rules, { ...STOCK, equity: '25000' })).toEqual(error('missing-price'));
  });
});

describe('percent_of_position = |position| × percent / 100', () => {
  it.each([
    ['7', '50', '3.5'],
    ['-4', '50', '2'],
    ['0', '50', '0'],
    ['3', '150', '4.5'],
    ['10.00000000', '33', '3.3'],
  ])('position %s at %s%% → %s', (position, percent, expected) => {
    const context = { ...STOCK, positionQuantity: position };
    expect(sizeSignal(signal(), strategy('percent_of_position', percent), context)).toEqual(quantity(expected));
  });
});

describe('roundToLot', () => {
  it.each([
    ['0.37', '0.1', '0.3'],
    ['7', '5', '5'],
    ['3', '5', '0'],
    ['10', '1', '10'],
    ['5.3376034160661862823592207099012543368027', '1', '5'],
    ['0.000123', '0.0001', '0.0001'],
    ['12.5', '0.25', '12.5'],
    ['12.74', '0.25', '12.5'],
    ['2.50000000', '1.00000000', '2'],
    ['0', '1', '0'],
    ['999999999999.999999', '0.000001', '999999999999.999999'],
  ])('%s in lots of %s → %s', (q, lot, expected) => {
    expect(roundToLot(q, lot)).toBe(expected);
  });

  it('refuses a lot size that is not positive', () => {
    expect(() => roundToLot('1', '0')).toThrow(RangeError);
    expect(() => roundToLot('1', '-1')).toThrow(RangeError);
    expect(() => roundToLot('1', 'lot')).toThrow(RangeError);
  });
});

describe('needsEquity', () => {
  const equityRules = strategy('percent_of_equity', '10');
  it.each<[string, Partial<Signal>, SizingRules, boolean]>([
    ['a buy under percent_of_equity', {}, equityRules, true],
    ['an add under percent_of_equity', { action: 'add' }, equityRules, true],
    ['a partial cover under percent_of_equity', { sentiment: 'short' }, equityRules, true],
    ['a buy under fixed sizing', {}, FIXED_ONE, false],
    ['a signal quantity that overrides it', { quantity: '2' }, { ...equityRules, useSignalQuantity: true }, false],
    ["the alert's own percent_of_equity", { quantity: '5', quantityType: 'percent_of_equity' }, FIXED_ONE, true],
    ['an exit (closes the position, no sizing)', { action: 'exit' }, equityRules, false],
    ['an exit with a quantity', { action: 'exit', quantity: '2' }, equityRules, false],
    [
      'an exit of a percent of equity',
      { action: 'exit', quantity: '5', quantityType: 'percent_of_equity' },
      FIXED_ONE,
      true,
    ],
    ['a close (sentiment flat)', { action: 'sell', sentiment: 'flat' }, equityRules, false],
    ['a target position', { positionSize: '3' }, equityRules, false],
    ['a cancel', { action: 'cancel' }, equityRules, false],
  ])('%s → %s', (_name, fields, rules, expected) => {
    expect(needsEquity(signal(fields), rules)).toBe(expected);
  });
});
