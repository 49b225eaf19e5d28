/**
 * The strategy's position rules end to end against the fake Alpaca (AAPL at 100): allow_short and allow_reverse
 * off and on, max_position_qty capping, and which ignored outcomes tell the trader (shared/execution.ts
 * QUIET_IGNORE_REASONS: already-long/short, no-position and already-at-target stay quiet; the rest notify).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { QUIET_IGNORE_REASONS } from '../../../shared/execution.ts';
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
const position = (routed: RoutedStrategy) => positionOf(harness, routed.strategyId, 'AAPL');

async function send(routed: RoutedStrategy, fields: Record<string, unknown>) {
  const log = await sendAndSettle(harness, routed, alert(fields));
  const orders = (await ordersOfLog(harness, log.id)).map(orderFigures);
  const notices = await signalNotices(harness, routed.trader.id, log.id);
  return { log, orders, notices };
}

describe('allow_short and allow_reverse', () => {
  it('a sell from flat without allow_short is ignored as short-not-allowed, and the trader is told', async () => {
    const routed = await setupAlpacaStrategy(harness, { allowShort: false });
    expect(await position(routed)).toBe('0');
    const { log, orders, notices } = await send(routed, { action: 'sell', quantity: '2' });
    expect(log).toMatchObject({ status: 'ignored', errorCode: 'short-not-allowed' });
    expect(orders).toEqual([]);
    expect(notices.map((n) => n.type)).toEqual(['signal.ignored']);
    expect(await position(routed)).toBe('0');
  });

  it('with allow_short on, the same sell opens a short', async () => {
    const routed = await setupAlpacaStrategy(harness, { allowShort: true });
    expect(await position(routed)).toBe('0');
    const { log, orders } = await send(routed, { action: 'sell', quantity: '2' });
    expect(log.status).toBe('executed');
    expect(orders).toEqual([expect.objectContaining({ side: 'sell', intent: 'open', filledQty: '2' })]);
    expect(await position(routed)).toBe('-2');
  });

  it('without allow_reverse a sell only closes the long, and the log says why it did not reverse', async () => {
    const routed = await setupAlpacaStrategy(harness, { allowShort: true, allowReverse: false });
    expect(await position(routed)).toBe('0');
    await seedPosition(harness, routed, alert({ action: 'buy', quantity: '2' }));
    expect(await position(routed)).toBe('2');
    const { log, orders } = await send(routed, { action: 'sell', quantity: '3' });
    expect(log.status).toBe('executed');
    expect(log.errorMessage).toContain('closed only, not reversed: the strategy does not allow reversals');
    expect(orders).toEqual([expect.objectContaining({ side: 'sell', intent: 'close', filledQty: '2' })]);
    expect(await position(routed)).toBe('0');
  });

  it('with allow_reverse but not allow_short a sell only closes the long', async () => {
    const routed = await setupAlpacaStrategy(harness, { allowShort: false, allowReverse: true });
    expect(await position(routed)).toBe('0');
    await seedPosition(harness, routed, alert({ action: 'buy', quantity: '2' }));
    const { log, orders } = await send(routed, { action: 'sell', quantity: '3' });
    expect(log.errorMessage).toContain('closed only, not reversed: the strategy does not allow short positions');
    expect(orders).toEqual([expect.objectContaining({ side: 'sell', intent: 'close', filledQty: '2' })]);
    expect(await position(routed)).toBe('0');
  });

  it('a buy reverses a short into a long when allow_reverse is on', async () => {
    const routed = await setupAlpacaStrategy(harness, { allowShort: true, allowReverse: true });
    expect(await position(routed)).toBe('0');
    await seedPosition(harness, routed, alert({ action: 'sell', quantity: '1' }));
    expect(await position(routed)).toBe('-1');
    const { orders } = await send(routed, { action: 'buy', quantity: '4' });
    expect(orders.map((o) => [o.side, o.intent, o.filledQty])).toEqual([
      ['buy', 'reverse_close', '1'],
      ['buy', 'reverse_open', '4'],
    ]);
    expect(await position(routed)).toBe('4');
  });
});

describe('max_position_qty', () => {
  it('caps an entry to the max, then ignores an add at the max as max-position-reached, with a notice', async () => {
    const routed = await setupAlpacaStrategy(harness, { maxPositionQty: '5' });
    expect(await position(routed)).toBe('0');
    const entry = await send(routed, { action: 'buy', quantity: '8' });
    expect(entry.log.status).toBe('executed');
    expect(entry.log.errorMessage).toBe('size 8 capped to 5 by max position 5');
    expect(entry.orders).toEqual([expect.objectContaining({ intent: 'open', quantity: '5', filledQty: '5' })]);
    expect(await position(routed)).toBe('5');

    const add = await send(routed, { action: 'add', quantity: '1' });
    expect(add.log).toMatchObject({ status: 'ignored', errorCode: 'max-position-reached' });
    expect(add.orders).toEqual([]);
    expect(add.notices.map((n) => n.type)).toEqual(['signal.ignored']);
    expect(await position(routed)).toBe('5');
  });

  it('fits an add into the room left under the max', async () => {
    const routed = await setupAlpacaStrategy(harness, { maxPositionQty: '5' });
    expect(await position(routed)).toBe('0');
    await seedPosition(harness, routed, alert({ action: 'buy', quantity: '3' }));
    const { orders } = await send(routed, { action: 'add', quantity: '4' });
    expect(orders).toEqual([expect.objectContaining({ intent: 'add', quantity: '2', filledQty: '2' })]);
    expect(await position(routed)).toBe('5');
  });

  it('caps the opening leg of a reversal, not its closing leg', async () => {
    const routed = await setupAlpacaStrategy(harness, { maxPositionQty: '2', allowShort: true, allowReverse: true });
    expect(await position(routed)).toBe('0');
    await seedPosition(harness, routed, alert({ action: 'buy', quantity: '2' }));
    const { orders } = await send(routed, { action: 'sell', quantity: '6' });
    expect(orders.map((o) => [o.intent, o.filledQty])).toEqual([
      ['reverse_close', '2'],
      ['reverse_open', '2'],
    ]);
    expect(await position(routed)).toBe('-2');
  });
});

describe('ignored outcomes and notifications', () => {
  it('a size that rounds down to no whole share is ignored as zero-quantity, and the trader is told', async () => {
    const routed = await setupAlpacaStrategy(harness);
    expect(await position(routed)).toBe('0');
    const { log, orders, notices } = await send(routed, { action: 'buy', quantity: '0.5' });
    expect(log).toMatchObject({ status: 'ignored', errorCode: 'zero-quantity' });
    expect(orders).toEqual([]);
    expect(notices.map((n) => n.type)).toEqual(['signal.ignored']);
    expect(await position(routed)).toBe('0');
  });

  it('the quiet reasons log without a notice', async () => {
    expect([...QUIET_IGNORE_REASONS].sort()).toEqual([
      'already-at-target',
      'already-long',
      'already-short',
      'no-position',
      'no-working-orders',
    ]);
    const routed = await setupAlpacaStrategy(harness);
    expect(await position(routed)).toBe('0');
    const exit = await send(routed, { action: 'exit' });
    expect(exit.log).toMatchObject({ status: 'ignored', errorCode: 'no-position' });
    await seedPosition(harness, routed, alert({ action: 'buy', quantity: '1' }));
    const again = await send(routed, { action: 'buy', quantity: '1' });
    expect(again.log).toMatchObject({ status: 'ignored', errorCode: 'already-long' });
    expect([...exit.notices, ...again.notices]).toEqual([]);
    expect(await position(routed)).toBe('1');
  });
});
