/**
 * brokers.adoptBrokerPosition against the fake Alpaca (AAPL at 100): the strategy that holds the symbol takes the
 * broker's quantity, its trade stays consistent (later fills book correctly), the change is audited, and the next
 * reconciliation agrees; what cannot be attributed is refused.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditLogs } from '../../../drizzle/schema/audit_logs.ts';
import { waitFor } from '../../helpers/app.ts';
import { signUp, trpcFailure } from '../../helpers/client.ts';
import {
  logSettles,
  positionOf,
  type RoutedStrategy,
  seedPosition,
  sendAndSettle,
  setupAlpacaStrategy,
  tradesOf,
} from '../../helpers/execution.ts';
import { rememberSecret } from '../../helpers/secrets.ts';
import { postAlert } from '../../helpers/webhooks.ts';
import { alpacaDirect, type ReconcileHarness, startReconcileHarness } from './harness.ts';

let harness: ReconcileHarness;
beforeAll(async () => {
  harness = await startReconcileHarness();
});
afterAll(() => harness.close());
beforeEach(() => {
  harness.alpaca.controls.reset();
  harness.alpaca.controls.setPrice('AAPL', '100');
});

let sent = 0;
const alert = (fields: Record<string, unknown>) => ({ ticker: 'AAPL', comment: `#${++sent}`, ...fields });

async function tradeBehindTheBack(side: 'buy' | 'sell', quantity: string) {
  const direct = alpacaDirect(harness);
  const placed = await direct.post('/v2/orders', {
    symbol: 'AAPL',
    qty: quantity,
    side,
    type: 'market',
    time_in_force: 'day',
  });
  expect(placed.status).toBe(200);
  await waitFor(async () => (await direct.get(`/v2/orders/${String(placed.body.id)}`)).body.status === 'filled');
}

const adopt = (routed: RoutedStrategy, strategyId?: number) =>
  routed.trader.client.brokers.adoptBrokerPosition.mutate({
    connectionId: routed.connectionId,
    symbol: 'AAPL',
    ...(strategyId ? { strategyId } : {}),
  });

describe('adopting the broker’s position', () => {
  it('moves the holding strategy to the broker’s quantity, audited, and the books go on consistently', async () => {
    const routed = await setupAlpacaStrategy(harness);
    await seedPosition(harness, routed, alert({ action: 'buy', quantity: '3' }));
    await tradeBehindTheBack('sell', '1');
    expect((await harness.reconcile(routed)).status).toBe('mismatch');

    const adopted = await adopt(routed);
    expect(adopted).toEqual({
      connectionId: routed.connectionId,
      strategyId: routed.strategyId,
      symbol: 'AAPL',
      brokerQuantity: '2',
      previousQuantity: '3',
      quantity: '2',
    });
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('2');
    const audit = await harness.server.deps.database.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, 'open_position.adopt_broker'), eq(auditLogs.userId, routed.trader.id)));
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actorType: 'user',
      resourceType: 'open_position',
      oldValue: expect.objectContaining({ quantity: '3', strategyId: routed.strategyId }),
      newValue: expect.objectContaining({ quantity: '2', brokerQuantity: '2' }),
    });
    expect(await harness.reconcile(routed)).toMatchObject({ status: 'ok', discrepancies: [] });

    // The adjustment exited 1 at the entry price (no made-up P&L); the real exit books (110 − 100) × 2.
    harness.alpaca.controls.setPrice('AAPL', '110');
    const exit = await sendAndSettle(harness, routed, alert({ action: 'exit' }));
    expect(exit.status).toBe('executed');
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
    const [trade] = await tradesOf(harness, routed.strategyId);
    expect(trade).toMatchObject({ status: 'closed', side: 'long', quantity: '3.00000000' });
    expect(Number(trade?.pnl)).toBe(20);
    expect(await harness.reconcile(routed)).toMatchObject({ status: 'ok' });
  });

  it('closes the trade when the broker no longer holds anything', async () => {
    const routed = await setupAlpacaStrategy(harness);
    await seedPosition(harness, routed, alert({ action: 'buy', quantity: '2' }));
    await tradeBehindTheBack('sell', '2');
    expect(await adopt(routed)).toMatchObject({ brokerQuantity: '0', previousQuantity: '2', quantity: '0' });
    const [trade] = await tradesOf(harness, routed.strategyId);
    expect(trade).toMatchObject({ status: 'closed' });
    expect(Number(trade?.pnl)).toBe(0);
    expect(await harness.reconcile(routed)).toMatchObject({ status: 'ok' });
  });

  it('gives a position bought at the broker to the connection’s only strategy, at the broker’s price', async () => {
    const routed = await setupAlpacaStrategy(harness);
    await tradeBehindTheBack('buy', '4');
    expect(await adopt(routed)).toMatchObject({ previousQuantity: '0', quantity: '4' });
    const [trade] = await tradesOf(harness, routed.strategyId);
    expect(trade).toMatchObject({ status: 'open', side: 'long', quantity: '4.00000000', entryPrice: '100.00000000' });
    // The next signal sees the adopted position: an exit sells all four.
    const exit = await sendAndSettle(harness, routed, alert({ action: 'exit' }));
    expect(exit.status).toBe('executed');
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('0');
  });
});

describe('what adoption refuses', () => {
  it('refuses to guess between strategies, and takes the one named', async () => {
    const routed = await setupAlpacaStrategy(harness);
    const created = await routed.trader.client.strategies.create.mutate({ name: `Second ${++sent}` });
    rememberSecret(created.webhookToken);
    await routed.trader.client.routing.create.mutate({
      strategyId: created.strategy.id,
      brokerConnectionId: routed.connectionId,
    });
    const second: RoutedStrategy = {
      ...routed,
      strategyId: created.strategy.id,
      token: created.webhookToken,
      send: (body) => postAlert(harness.server.url, created.webhookToken, JSON.stringify(body)),
    };
    await seedPosition(harness, routed, alert({ action: 'buy', quantity: '3' }));
    await seedPosition(harness, second, alert({ action: 'buy', quantity: '2' }));
    await tradeBehindTheBack('sell', '1');

    const unclear = await trpcFailure(() => adopt(routed));
    expect(unclear.data?.code).toBe('PRECONDITION_FAILED');
    expect(await adopt(routed, second.strategyId)).toMatchObject({ previousQuantity: '2', quantity: '1' });
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('3');
    expect(await positionOf(harness, second.strategyId, 'AAPL')).toBe('1');
  });

  it('refuses while an order on the symbol is still working, when the books already agree, and for others', async () => {
    const routed = await setupAlpacaStrategy(harness);
    await seedPosition(harness, routed, alert({ action: 'buy', quantity: '1' }));
    const agreeing = await trpcFailure(() => adopt(routed));
    expect(agreeing.data?.code).toBe('PRECONDITION_FAILED');

    await tradeBehindTheBack('buy', '1');
    const answer = await routed.send(alert({ action: 'add', quantity: '1', limitPrice: '90' }));
    await logSettles(harness, answer.body.id, ['executing']);
    const working = await trpcFailure(() => adopt(routed));
    expect(working.data?.code).toBe('PRECONDITION_FAILED');
    expect(working.message).toContain('still working');

    const stranger = await signUp(harness.server.url);
    const foreign = await trpcFailure(() =>
      stranger.client.brokers.adoptBrokerPosition.mutate({ connectionId: routed.connectionId, symbol: 'AAPL' }),
    );
    expect(foreign.data?.code).toBe('NOT_FOUND');
    expect(await positionOf(harness, routed.strategyId, 'AAPL')).toBe('1');
  });
});
