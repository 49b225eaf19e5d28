/**
 * Sizing modes end to end (SPEC §5 "Quantity") against the fake Alpaca: the strategy's fixed_quantity,
 * dollar_amount (price from the alert), risk_dollar_amount (stop from the alert), percent_of_equity (equity from
 * the fake's account), and percent_of_position on an exit; a size that needs a missing input is rejected and told.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreateStrategyInput } from '../../../shared/schemas/strategies.ts';
import {
  type ExecutionHarness,
  orderFigures,
  ordersOfLog,
  positionOf,
  type RoutedStrategy,
  seedPosition,
  sendAndSettle,
  setupAlpacaStrategy,
  signalNotices,
  startExecutionHarness,
} from '../../helpers/execution.ts';

let harness: ExecutionHarness;
beforeAll(async () => {
  harness = await startExecutionHarness();
});
afterAll(() => harness.close());
beforeEach(() => {
  harness.alpaca.controls.reset();
  harness.alpaca.controls.setPrice('AAPL', '100');
});

let sent = 0;
const alert = (fields: Record<string, unknown>) => ({ ticker: 'AAPL', comment: `#${++sent}`, ...fields });

/** A strategy sizing every entry itself (the alert's quantity is not used). */
const sizedBy = (sizingType: CreateStrategyInput['sizingType'], sizingValue: string) =>
  setupAlpacaStrategy(harness, { useSignalQuantity: false, sizingType, sizingValue });

/** Sends an entry, expects it executed, and returns the one order's filled quantity and the position after. */
async function entry(routed: RoutedStrategy, fields: Record<string, unknown>, symbol = 'AAPL') {
  expect(await positionOf(harness, routed.strategyId, symbol)).toBe('0');
  const log = await sendAndSettle(harness, routed, alert({ ticker: symbol, action: 'buy', ...fields }));
  expect(log.status, log.errorMessage ?? '').toBe('executed');
  const orders = (await ordersOfLog(harness, log.id)).map(orderFigures);
  expect(orders).toHaveLength(1);
  return { filled: orders[0]?.filledQty, position: await positionOf(harness, routed.strategyId, symbol) };
}

describe('entry sizing by the strategy', () => {
  it('fixed_quantity: the strategy size, whatever quantity the alert sends', async () => {
    const routed = await sizedBy('fixed_quantity', '7');
    expect(await entry(routed, { quantity: '2' })).toEqual({ filled: '7', position: '7' });
  });

  it('dollar_amount: amount / the alert price, rounded down to whole shares', async () => {
    const routed = await sizedBy('dollar_amount', '1000');
    // 1000 / 120 = 8.33… → 8, though the fake fills at its own mark of 100.
    expect(await entry(routed, { price: '120' })).toEqual({ filled: '8', position: '8' });
  });

  it('risk_dollar_amount: risk / |entry − stop| from the alert', async () => {
    const routed = await sizedBy('risk_dollar_amount', '500');
    // 500 / |100 − 96| = 125.
    expect(await entry(routed, { price: '100', stopLoss: { stopPrice: '96' } })).toEqual({
      filled: '125',
      position: '125',
    });
  });

  it("percent_of_equity: a share of the fake account's equity at the alert price", async () => {
    harness.alpaca.controls.setCash('48000');
    const routed = await sizedBy('percent_of_equity', '25');
    // 25 % of 48000 = 12000; / 150 = 80.
    expect(await entry(routed, { price: '150' })).toEqual({ filled: '80', position: '80' });
  });

  it('an alert quantityType overrides the strategy sizing (dollar_amount of 2500 at 125 → 20)', async () => {
    const routed = await sizedBy('fixed_quantity', '1');
    expect(await entry(routed, { quantity: '2500', quantityType: 'dollar_amount', price: '125' })).toEqual({
      filled: '20',
      position: '20',
    });
  });

  it('an Alpaca symbol that spells a futures root (CL, Colgate) is sized as a share, not as crude oil', async () => {
    harness.alpaca.controls.setPrice('CL', '50');
    const routed = await sizedBy('dollar_amount', '1000');
    // 1000 / 50 = 20 shares; sized with the CL future's multiplier of 1000 it would be 0.02 → nothing.
    expect(await entry(routed, { price: '50' }, 'CL')).toEqual({ filled: '20', position: '20' });
  });
});

describe('sizing that cannot be done', () => {
  it('dollar_amount without a price and risk_dollar_amount without a stop are rejected, and told', async () => {
    const dollars = await sizedBy('dollar_amount', '1000');
    const noPrice = await sendAndSettle(harness, dollars, alert({ action: 'buy' }));
    expect(noPrice).toMatchObject({ status: 'rejected', errorCode: 'missing-price' });
    expect((await signalNotices(harness, dollars.trader.id, noPrice.id)).map((n) => n.type)).toEqual([
      'signal.rejected',
    ]);
    expect(await positionOf(harness, dollars.strategyId, 'AAPL')).toBe('0');

    const risk = await sizedBy('risk_dollar_amount', '500');
    const noStop = await sendAndSettle(harness, risk, alert({ action: 'buy', price: '100' }));
    expect(noStop).toMatchObject({ status: 'rejected', errorCode: 'missing-stop' });
    expect(await ordersOfLog(harness, noStop.id)).toHaveLength(0);
    expect(await positionOf(harness, risk.strategyId, 'AAPL')).toBe('0');
  });
});

describe('percent_of_position on exit', () => {
  it('closes that share of the position, rounded down to whole shares', async () => {
    const routed = await setupAlpacaStrategy(harness);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
    await seedPosition(harness, routed, alert({ action: 'buy', quantity: '10' }));
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('10');

    const first = await sendAndSettle(
      harness,
      routed,
      alert({ action: 'exit', quantity: '30', quantityType: 'percent_of_position' }),
    );
    expect((await ordersOfLog(harness, first.id)).map(orderFigures)).toEqual([
      expect.objectContaining({ side: 'sell', intent: 'reduce', filledQty: '3' }),
    ]);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('7');

    // 50 % of 7 = 3.5 → 3.
    const second = await sendAndSettle(
      harness,
      routed,
      alert({ action: 'exit', quantity: '50', quantityType: 'percent_of_position' }),
    );
    expect((await ordersOfLog(harness, second.id)).map((o) => orderFigures(o).filledQty)).toEqual(['3']);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('4');

    const all = await sendAndSettle(
      harness,
      routed,
      alert({ action: 'exit', quantity: '100', quantityType: 'percent_of_position' }),
    );
    expect((await ordersOfLog(harness, all.id)).map((o) => orderFigures(o).intent)).toEqual(['close']);
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
  });
});
