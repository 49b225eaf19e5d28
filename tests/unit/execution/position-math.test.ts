/**
 * The average-cost books a trader reads: positions, average entry, realized P&L with the contract multiplier, fees
 * and the round-trip trade, checked against values computed by hand (each comment shows the arithmetic).
 */
import { describe, expect, it } from 'vitest';
import {
  applyFill,
  type FillEffect,
  type FillInput,
  fromStoredTrade,
  type OpenTradeState,
  type PositionState,
  toStored,
  toStoredTrade,
} from '../../../server/services/execution/position-math.ts';

const FLAT: PositionState = { quantity: '0', avgEntryPrice: '0' };
const at = (minute: number) => new Date(Date.UTC(2026, 0, 5, 14, minute));

function buy(quantity: string, price: string, commission = '0', minute = 0): FillInput {
  return { side: 'buy', quantity, price, commission, filledAt: at(minute) };
}
function sell(quantity: string, price: string, commission = '0', minute = 0): FillInput {
  return { side: 'sell', quantity, price, commission, filledAt: at(minute) };
}

/** Applies fills in order from flat; returns every effect. */
function run(fills: FillInput[], multiplier = '1'): FillEffect[] {
  let position = FLAT;
  let trade: OpenTradeState | null = null;
  return fills.map((fill) => {
    const effect = applyFill(position, trade, fill, multiplier);
    position = effect.position;
    trade = effect.trade;
    return effect;
  });
}
function last(effects: FillEffect[]): FillEffect {
  const effect = effects.at(-1);
  if (!effect) throw new Error('no fills');
  return effect;
}

describe('long positions', () => {
  it('opens a long: position, average and a new trade carrying the commission', () => {
    const effect = applyFill(FLAT, null, buy('10', '100.25', '1.5', 1), '1');
    expect(effect).toEqual({
      position: { quantity: '10', avgEntryPrice: '100.25' },
      trade: {
        side: 'long',
        quantity: '10',
        entryPrice: '100.25',
        exitQuantity: '0',
        exitNotional: '0',
        realizedGross: '0',
        fees: '1.5',
        entryDate: at(1),
      },
      openedTrade: true,
      closedTrade: null,
      realized: '0',
    });
  });

  it('adding at another price moves the average entry to the quantity-weighted average', () => {
    // (10 × 100 + 10 × 103) / 20 = 2030 / 20 = 101.5
    const even = last(run([buy('10', '100'), buy('10', '103')]));
    expect(even.position).toEqual({ quantity: '20', avgEntryPrice: '101.5' });
    expect(even.trade?.entryPrice).toBe('101.5');

    // (10 × 100.25 + 5 × 103) / 15 = (1002.5 + 515) / 15 = 1517.5 / 15 = 101.1666…: 20 decimals in the math,
    // 8 (half-up) when stored. Fees 1.5 + 0.75 = 2.25.
    const effect = last(run([buy('10', '100.25', '1.5'), buy('5', '103', '0.75')]));
    expect(effect.position).toEqual({ quantity: '15', avgEntryPrice: '101.16666666666666666667' });
    expect(toStored(effect.position.avgEntryPrice)).toBe('101.16666667');
    expect(effect.trade).toMatchObject({ quantity: '15', entryPrice: '101.16666666666666666667', fees: '2.25' });
    expect(effect.openedTrade).toBe(false);
    expect(effect.realized).toBe('0');
  });

  it('a partial close realizes (exit − avg) × qty × multiplier and keeps the average (MNQ, multiplier 2)', () => {
    // Long 4 @ 20000; sell 1 @ 20010.5 → (20010.5 − 20000) × 1 × 2 = 21.
    const effect = last(run([buy('4', '20000', '2'), sell('1', '20010.5', '0.5')], '2'));
    expect(effect.realized).toBe('21');
    expect(effect.position).toEqual({ quantity: '3', avgEntryPrice: '20000' });
    expect(effect.closedTrade).toBeNull();
    expect(effect.trade).toMatchObject({
      side: 'long',
      quantity: '4',
      exitQuantity: '1',
      exitNotional: '20010.5',
      realizedGross: '21',
      fees: '2.5',
    });
  });

  it('a full close at a loss closes the trade with exact exit price, fees, pnl and pnl% (MNQ, multiplier 2)', () => {
    // Long 4 @ 20000 (fee 2); sell 1 @ 20010.5 (fee 0.5): +21; sell 3 @ 19990.25 (fee 1.5):
    // (19990.25 − 20000) × 3 × 2 = −58.5. Gross 21 − 58.5 = −37.5, fees 4, pnl −41.5.
    // Exit price (20010.5 + 3 × 19990.25) / 4 = 79981.25 / 4 = 19995.3125.
    // pnl% = −41.5 / (20000 × 4 × 2) × 100 = −4150 / 160000 = −0.0259375.
    const effects = run(
      [buy('4', '20000', '2', 1), sell('1', '20010.5', '0.5', 2), sell('3', '19990.25', '1.5', 3)],
      '2',
    );
    const effect = last(effects);
    expect(effect.realized).toBe('-58.5');
    expect(effect.position).toEqual({ quantity: '0', avgEntryPrice: '0' });
    expect(effect.trade).toBeNull();
    expect(effect.closedTrade).toEqual({
      side: 'long',
      quantity: '4',
      entryPrice: '20000',
      entryDate: at(1),
      exitQuantity: '4',
      exitNotional: '79981.25',
      exitPrice: '19995.3125',
      exitDate: at(3),
      realizedGross: '-37.5',
      fees: '4',
      pnl: '-41.5',
      pnlPercent: '-0.0259375',
    });
  });

  it('a winning round trip: pnl is gross minus both commissions', () => {
    // (110 − 100) × 10 = 100 gross, fees 1 + 1 = 2, pnl 98; pnl% = 98 / (100 × 10) × 100 = 9.8.
    const effect = last(run([buy('10', '100', '1'), sell('10', '110', '1')]));
    expect(effect.closedTrade).toMatchObject({ exitPrice: '110', realizedGross: '100', fees: '2', pnl: '98' });
    expect(effect.closedTrade?.pnlPercent).toBe('9.8');
  });

  it('adding after a partial exit: the trade keeps the average of all entries, the position its own cost', () => {
    // Buy 10 @ 100; sell 5 @ 110 → +50; buy 5 @ 120 → position avg (5 × 100 + 5 × 120) / 10 = 110,
    // trade entry (10 × 100 + 5 × 120) / 15 = 1600 / 15 = 106.666…; sell 10 @ 115 → (115 − 110) × 10 = +50.
    const effects = run([buy('10', '100'), sell('5', '110'), buy('5', '120'), sell('10', '115')]);
    expect(effects[2]?.position).toEqual({ quantity: '10', avgEntryPrice: '110' });
    const closed = last(effects).closedTrade;
    // Exit (5 × 110 + 10 × 115) / 15 = 1700 / 15 = 113.333…; pnl 100; pnl% = 100 / 1600 × 100 = 6.25
    // (the 20-decimal entry price makes the basis 1600.00000000000000000005, still 6.25 at 20 decimals).
    expect(closed).toMatchObject({
      quantity: '15',
      entryPrice: '106.66666666666666666667',
      exitPrice: '113.33333333333333333333',
      realizedGross: '100',
      pnl: '100',
    });
    expect(toStored(closed?.pnlPercent ?? '')).toBe('6.25');
    expect(toStored(closed?.entryPrice ?? '')).toBe('106.66666667');
  });
});

describe('short positions mirror longs', () => {
  it('opens short, adds (average moves), covers in two parts with the sign of P&L reversed', () => {
    // Sell 5 @ 50 (fee 1), sell 5 @ 52 → −10 @ (250 + 260) / 10 = 51.
    const adding = run([sell('5', '50', '1'), sell('5', '52')]);
    expect(last(adding).position).toEqual({ quantity: '-10', avgEntryPrice: '51' });
    expect(last(adding).trade).toMatchObject({ side: 'short', quantity: '10', entryPrice: '51' });

    // Sell 5 @ 50 (fee 1); buy 2 @ 45 (fee 0.4): −(45 − 50) × 2 = +10; buy 3 @ 48 (fee 0.6): −(48 − 50) × 3 = +6.
    // Gross 16, fees 2, pnl 14; exit (90 + 144) / 5 = 46.8; pnl% = 14 / (50 × 5) × 100 = 5.6.
    const effects = run([sell('5', '50', '1', 1), buy('2', '45', '0.4', 2), buy('3', '48', '0.6', 3)]);
    expect(effects.map((e) => e.realized)).toEqual(['0', '10', '6']);
    expect(effects[1]?.position).toEqual({ quantity: '-3', avgEntryPrice: '50' });
    expect(last(effects).position.quantity).toBe('0');
    expect(last(effects).closedTrade).toMatchObject({
      side: 'short',
      quantity: '5',
      entryPrice: '50',
      exitPrice: '46.8',
      realizedGross: '16',
      fees: '2',
      pnl: '14',
      pnlPercent: '5.6',
      exitDate: at(3),
    });
  });

  it('a short covered higher is a loss', () => {
    // −(105 − 100) × 1 = −5 gross, fees 0.5 + 0.5, pnl −6; pnl% = −6 / 100 × 100 = −6.
    const closed = last(run([sell('1', '100', '0.5'), buy('1', '105', '0.5')])).closedTrade;
    expect(closed).toMatchObject({ realizedGross: '-5', pnl: '-6', pnlPercent: '-6' });
  });
});

describe('a fill that crosses zero', () => {
  it('closes the long and opens a short at the fill price, splitting the commission by quantity', () => {
    // Long 2 @ 100 (fee 1); sell 5 @ 110 (fee 2.5): 2 close, 3 open. Close share 2.5 × 2 / 5 = 1, rest 1.5.
    // Closed: gross (110 − 100) × 2 = 20, fees 1 + 1 = 2, pnl 18, pnl% = 18 / 200 × 100 = 9.
    const effect = last(run([buy('2', '100', '1', 1), sell('5', '110', '2.5', 2)]));
    expect(effect.realized).toBe('20');
    expect(effect.closedTrade).toMatchObject({
      side: 'long',
      quantity: '2',
      exitPrice: '110',
      fees: '2',
      pnl: '18',
      pnlPercent: '9',
      exitDate: at(2),
    });
    expect(effect.position).toEqual({ quantity: '-3', avgEntryPrice: '110' });
    expect(effect.openedTrade).toBe(true);
    expect(effect.trade).toEqual({
      side: 'short',
      quantity: '3',
      entryPrice: '110',
      exitQuantity: '0',
      exitNotional: '0',
      realizedGross: '0',
      fees: '1.5',
      entryDate: at(2),
    });
  });

  it('an indivisible commission is split so both shares add up to it exactly', () => {
    // Short 1 @ 50; buy 3 @ 40 (fee 1): close share 1 × 1 / 3 = 0.33333333 (8 decimals, half-up), rest 0.66666667.
    // Closed gross −(40 − 50) × 1 = 10, pnl 10 − 0.33333333 = 9.66666667, pnl% = 9.66666667 / 50 × 100 = 19.33333334.
    const effect = last(run([sell('1', '50'), buy('3', '40', '1')]));
    expect(effect.closedTrade).toMatchObject({ fees: '0.33333333', pnl: '9.66666667', pnlPercent: '19.33333334' });
    expect(effect.trade).toMatchObject({ side: 'long', quantity: '2', entryPrice: '40', fees: '0.66666667' });
    expect(effect.position).toEqual({ quantity: '2', avgEntryPrice: '40' });
  });
});

describe('futures multipliers and exact decimals', () => {
  it('ES (multiplier 50) with per-side commissions', () => {
    // (5010.25 − 5000) × 2 × 50 = 1025 gross, fees 4.5 + 4.5 = 9, pnl 1016;
    // pnl% = 1016 / (5000 × 2 × 50) × 100 = 101600 / 500000 = 0.2032.
    const closed = last(run([buy('2', '5000', '4.5'), sell('2', '5010.25', '4.5')], '50')).closedTrade;
    expect(closed).toMatchObject({ realizedGross: '1025', fees: '9', pnl: '1016', pnlPercent: '0.2032' });
  });

  it('three fills of 0.1 sum to exactly 0.3 and close to exactly 0 (no float drift)', () => {
    // Avg (0.1 × 10 + 0.1 × 10.1) / 0.2 = 10.05, then (0.2 × 10.05 + 0.1 × 10.2) / 0.3 = 3.03 / 0.3 = 10.1.
    const entries = run([buy('0.1', '10'), buy('0.1', '10.1'), buy('0.1', '10.2')]);
    expect(last(entries).position).toEqual({ quantity: '0.3', avgEntryPrice: '10.1' });

    // Each exit of 0.1 @ 11 realizes (11 − 10.1) × 0.1 = 0.09; fees 3 × 0.01 = 0.03; pnl 0.27 − 0.03 = 0.24;
    // pnl% = 0.24 / 3.03 × 100 = 2400 / 303 = 7.92079207920792079207|92… → 8 decimals half-up 7.92079208.
    const effects = run([
      buy('0.1', '10'),
      buy('0.1', '10.1'),
      buy('0.1', '10.2'),
      sell('0.1', '11', '0.01'),
      sell('0.1', '11', '0.01'),
      sell('0.1', '11', '0.01'),
    ]);
    expect(effects.slice(3).map((e) => e.realized)).toEqual(['0.09', '0.09', '0.09']);
    expect(effects[4]?.position.quantity).toBe('0.1');
    const effect = last(effects);
    expect(effect.position.quantity).toBe('0');
    expect(effect.closedTrade).toMatchObject({ quantity: '0.3', exitPrice: '11', realizedGross: '0.27', pnl: '0.24' });
    expect(toStored(effect.closedTrade?.pnlPercent ?? '')).toBe('7.92079208');
  });

  it('a thousand fills of 0.001 make exactly 1', () => {
    // 1000 × 0.001 = 1 @ 1.5; selling 1 @ 2 realizes exactly 0.5.
    const effects = run([...Array.from({ length: 1000 }, () => buy('0.001', '1.5')), sell('1', '2')]);
    expect(effects[999]?.position).toEqual({ quantity: '1', avgEntryPrice: '1.5' });
    expect(last(effects).closedTrade).toMatchObject({ quantity: '1', realizedGross: '0.5', pnl: '0.5' });
  });
});

describe('storage', () => {
  it('rounds half-up (ties away from zero) to 8 decimals, never writing -0', () => {
    expect(toStored('1.234567885')).toBe('1.23456789');
    expect(toStored('1.234567884999')).toBe('1.23456788');
    expect(toStored('-0.000000015')).toBe('-0.00000002');
    expect(toStored('-0.000000004')).toBe('0');
    expect(toStored('100.00000000')).toBe('100');
  });

  it('an open trade survives being stored and rebuilt between fills', () => {
    // Long 4 @ 20000 (fee 2), sold 1 @ 20010.5 (fee 0.5): row holds exit 20010.5 and pnl 21 − 2.5 = 18.5.
    const effect = last(run([buy('4', '20000', '2', 1), sell('1', '20010.5', '0.5', 2)], '2'));
    const trade = effect.trade as OpenTradeState;
    const row = { side: trade.side, entryDate: trade.entryDate, ...toStoredTrade(trade) };
    expect(row).toMatchObject({ quantity: '4', entryPrice: '20000', exitPrice: '20010.5', pnl: '18.5', fees: '2.5' });
    expect(fromStoredTrade(row, effect.position.quantity)).toEqual(trade);
    // A trade with no exit yet stores no exit price and no pnl.
    const fresh = run([buy('1', '5')])[0]?.trade as OpenTradeState;
    expect(toStoredTrade(fresh)).toMatchObject({ exitPrice: null, pnl: null });
  });
});

describe('refused input', () => {
  it('a zero or negative fill quantity', () => {
    expect(() => applyFill(FLAT, null, buy('0', '1'), '1')).toThrow(RangeError);
    expect(() => applyFill(FLAT, null, buy('-1', '1'), '1')).toThrow(RangeError);
  });

  it('books that disagree (an open trade on a flat position, a position without a trade)', () => {
    const trade = run([buy('1', '5')])[0]?.trade ?? null;
    expect(() => applyFill(FLAT, trade, buy('1', '1'), '1')).toThrow(/books disagree/);
    expect(() => applyFill({ quantity: '1', avgEntryPrice: '5' }, null, buy('1', '1'), '1')).toThrow(/books disagree/);
    expect(() => applyFill({ quantity: '-1', avgEntryPrice: '5' }, trade, buy('1', '1'), '1')).toThrow(/disagree/);
  });
});
