/**
 * SPEC §5 signal semantics end to end against the fake Alpaca (AAPL at 100): buy/sell/exit/add with and without
 * sentiment, positionSize targets, and cancel. Every case states the position before and after, through the real
 * path: webhook → signals job → orders → fake broker → poll → fills → position.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type ExecutionHarness,
  logSettles,
  orderFigures,
  ordersOfLog,
  positionOf,
  type RoutedStrategy,
  seedPosition,
  sendAndSettle,
  setupAlpacaStrategy,
  signalNotices,
  startExecutionHarness,
  tradesOf,
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

const position = (routed: RoutedStrategy) => positionOf(harness, routed.strategyId, 'AAPL');
const shorts = { allowShort: true, allowReverse: true };

// A byte-identical body within the dedup window is a duplicate delivery: number every alert so none is.
let sent = 0;
const alert = (fields: Record<string, unknown>) => ({ ticker: 'AAPL', comment: `#${++sent}`, ...fields });
const seed = (routed: RoutedStrategy, fields: Record<string, unknown>) => seedPosition(harness, routed, alert(fields));

/** Sends the alert, expects it executed, and returns its orders' figures. */
async function executed(routed: RoutedStrategy, fields: Record<string, unknown>) {
  const log = await sendAndSettle(harness, routed, alert(fields));
  expect(log.status, log.errorMessage ?? '').toBe('executed');
  return (await ordersOfLog(harness, log.id)).map(orderFigures);
}

/** Sends the alert, expects it ignored with `code`, no order, and returns whether the trader was told. */
async function ignored(routed: RoutedStrategy, fields: Record<string, unknown>, code: string) {
  const log = await sendAndSettle(harness, routed, alert(fields));
  expect(log).toMatchObject({ status: 'ignored', errorCode: code });
  expect(await ordersOfLog(harness, log.id)).toHaveLength(0);
  return (await signalNotices(harness, routed.trader.id, log.id)).length > 0;
}

describe('buy, sell, exit and add', () => {
  it('add grows a long; exit with a quantity reduces it; exit without one closes it and the trade', async () => {
    const routed = await setupAlpacaStrategy(harness);
    expect(await position(routed)).toBe('0');
    await seed(routed, { action: 'buy', quantity: '2' });
    expect(await position(routed)).toBe('2');

    const [add] = await executed(routed, { action: 'add', quantity: '3' });
    expect(add).toMatchObject({ side: 'buy', intent: 'add', quantity: '3', filledQty: '3', status: 'filled' });
    expect(await position(routed)).toBe('5');

    const [reduce] = await executed(routed, { action: 'exit', quantity: '2' });
    expect(reduce).toMatchObject({ side: 'sell', intent: 'reduce', quantity: '2', filledQty: '2' });
    expect(await position(routed)).toBe('3');

    harness.alpaca.controls.setPrice('AAPL', '104');
    const [close] = await executed(routed, { action: 'exit' });
    expect(close).toMatchObject({ side: 'sell', intent: 'close', quantity: '3', filledQty: '3' });
    expect(await position(routed)).toBe('0');
    const [trade] = await tradesOf(harness, routed.strategyId);
    // Entered 5 at 100; the reduce sold 2 at 100 (no P&L), the close 3 at 104: 3 × 4 = 12.
    expect(trade).toMatchObject({ status: 'closed', side: 'long', quantity: '5.00000000', pnl: '12.00000000' });
  });

  it('a repeated buy while long is ignored as already-long, quietly', async () => {
    const routed = await setupAlpacaStrategy(harness);
    expect(await position(routed)).toBe('0');
    await seed(routed, { action: 'buy', quantity: '2' });
    expect(await ignored(routed, { action: 'buy', quantity: '2', comment: 'again' }, 'already-long')).toBe(false);
    expect(await position(routed)).toBe('2');
  });

  it('a repeated sell while short is ignored as already-short, quietly', async () => {
    const routed = await setupAlpacaStrategy(harness, shorts);
    expect(await position(routed)).toBe('0');
    await seed(routed, { action: 'sell', quantity: '2' });
    expect(await position(routed)).toBe('-2');
    expect(await ignored(routed, { action: 'sell', quantity: '1' }, 'already-short')).toBe(false);
    expect(await position(routed)).toBe('-2');
  });

  it('exit and add with nothing open are ignored as no-position, quietly', async () => {
    const routed = await setupAlpacaStrategy(harness);
    expect(await position(routed)).toBe('0');
    expect(await ignored(routed, { action: 'exit' }, 'no-position')).toBe(false);
    expect(await ignored(routed, { action: 'add', quantity: '1' }, 'no-position')).toBe(false);
    expect(await position(routed)).toBe('0');
  });

  it('sell reverses a long into a short in two legs when shorts and reversals are allowed', async () => {
    const routed = await setupAlpacaStrategy(harness, shorts);
    expect(await position(routed)).toBe('0');
    await seed(routed, { action: 'buy', quantity: '2' });
    const legs = await executed(routed, { action: 'sell', quantity: '3' });
    expect(legs).toEqual([
      expect.objectContaining({ side: 'sell', intent: 'reverse_close', quantity: '2', filledQty: '2' }),
      expect.objectContaining({ side: 'sell', intent: 'reverse_open', quantity: '3', filledQty: '3' }),
    ]);
    expect(await position(routed)).toBe('-3');
  });
});

describe('sentiment', () => {
  it('sell with sentiment flat closes a long and never opens a short, even asked for more', async () => {
    const routed = await setupAlpacaStrategy(harness, shorts);
    expect(await position(routed)).toBe('0');
    await seed(routed, { action: 'buy', quantity: '3' });
    const orders = await executed(routed, { action: 'sell', sentiment: 'flat', quantity: '5' });
    expect(orders).toEqual([expect.objectContaining({ side: 'sell', intent: 'close', quantity: '3' })]);
    expect(await position(routed)).toBe('0');
  });

  it('buy with sentiment flat closes a short; with a long open it is ignored as no-position', async () => {
    const routed = await setupAlpacaStrategy(harness, shorts);
    expect(await position(routed)).toBe('0');
    await seed(routed, { action: 'sell', quantity: '2' });
    const orders = await executed(routed, { action: 'buy', sentiment: 'flat' });
    expect(orders).toEqual([expect.objectContaining({ side: 'buy', intent: 'close', quantity: '2' })]);
    expect(await position(routed)).toBe('0');

    await seed(routed, { action: 'buy', quantity: '1' });
    expect(await ignored(routed, { action: 'buy', sentiment: 'flat' }, 'no-position')).toBe(false);
    expect(await position(routed)).toBe('1');
  });

  it('a sentiment that contradicts the action is refused at the door and changes nothing', async () => {
    const routed = await setupAlpacaStrategy(harness, shorts);
    expect(await position(routed)).toBe('0');
    await seed(routed, { action: 'buy', quantity: '3' });
    const answer = await routed.send(alert({ action: 'sell', sentiment: 'long', quantity: '1' }));
    expect(answer).toMatchObject({ status: 400, body: { code: 'invalid-sentiment' } });
    expect(await ordersOfLog(harness, answer.body.id)).toHaveLength(0);
    expect(await position(routed)).toBe('3');
  });

  it('buy with sentiment long opens like a plain buy', async () => {
    const routed = await setupAlpacaStrategy(harness);
    expect(await position(routed)).toBe('0');
    const [open] = await executed(routed, { action: 'buy', sentiment: 'long', quantity: '2' });
    expect(open).toMatchObject({ side: 'buy', intent: 'open', quantity: '2' });
    expect(await position(routed)).toBe('2');
  });
});

describe('positionSize targets', () => {
  it('orders target − position at every step: open, reduce, add, reverse, flatten, then already-at-target', async () => {
    const routed = await setupAlpacaStrategy(harness, shorts);
    expect(await position(routed)).toBe('0');
    const steps: Array<[Record<string, unknown>, Array<[string, string, string]>, string]> = [
      [{ action: 'buy', positionSize: '3' }, [['buy', 'open', '3']], '3'],
      [{ action: 'sell', positionSize: '1' }, [['sell', 'reduce', '2']], '1'],
      [{ action: 'buy', positionSize: '4' }, [['buy', 'add', '3']], '4'],
      [
        { action: 'sell', positionSize: '-2' },
        [
          ['sell', 'reverse_close', '4'],
          ['sell', 'reverse_open', '2'],
        ],
        '-2',
      ],
      [{ action: 'buy', positionSize: '0' }, [['buy', 'close', '2']], '0'],
    ];
    expect(await position(routed)).toBe('0');
    for (const [fields, legs, after] of steps) {
      const orders = await executed(routed, fields);
      expect(orders.map((o) => [o.side, o.intent, o.filledQty])).toEqual(legs);
      expect(await position(routed)).toBe(after);
    }
    expect(await ignored(routed, { action: 'sell', positionSize: '0' }, 'already-at-target')).toBe(false);
  });

  it('a short target without allow_short flattens instead', async () => {
    const routed = await setupAlpacaStrategy(harness);
    expect(await position(routed)).toBe('0');
    await seed(routed, { action: 'buy', quantity: '2' });
    const orders = await executed(routed, { action: 'sell', positionSize: '-2' });
    expect(orders).toEqual([expect.objectContaining({ side: 'sell', intent: 'close', quantity: '2' })]);
    expect(await position(routed)).toBe('0');
  });
});

describe('cancel', () => {
  it('cancels the working order at the broker; the position stays flat', async () => {
    const routed = await setupAlpacaStrategy(harness);
    expect(await position(routed)).toBe('0');
    const entry = await routed.send({ ticker: 'AAPL', action: 'buy', quantity: '2', limitPrice: '90' });
    await logSettles(harness, entry.body.id, ['executing']);
    const [working] = await ordersOfLog(harness, entry.body.id);
    await harness.alpaca.controls.waitFor(
      () => harness.alpaca.controls.ordersByClientId(`fp-${working?.id}`)[0]?.status === 'working',
    );

    const cancel = await sendAndSettle(harness, routed, alert({ action: 'cancel' }));
    expect(cancel.status).toBe('executed');
    await harness.alpaca.controls.waitFor(
      () => harness.alpaca.controls.ordersByClientId(`fp-${working?.id}`)[0]?.status === 'cancelled',
    );
    await logSettles(harness, entry.body.id, ['failed', 'executed']);
    const [after] = await ordersOfLog(harness, entry.body.id);
    expect(orderFigures(after)).toMatchObject({ status: 'cancelled', filledQty: '0' });
    expect(await position(routed)).toBe('0');
    // The position is flat again, so a new buy opens.
    const [reopen] = await executed(routed, { action: 'buy', quantity: '1' });
    expect(reopen).toMatchObject({ intent: 'open', filledQty: '1' });
    expect(await position(routed)).toBe('1');
  });

  it('a cancel with nothing working is ignored as no-working-orders', async () => {
    const routed = await setupAlpacaStrategy(harness);
    expect(await position(routed)).toBe('0');
    await ignored(routed, { action: 'cancel' }, 'no-working-orders');
    expect(await position(routed)).toBe('0');
  });
});
