/**
 * percent_of_equity needs the broker's account equity before planning. While the broker is unreachable the signal
 * job retries with the log still `received`; on its last attempt the log is rejected `broker-unavailable` and the
 * trader told, instead of the alert waiting forever.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifications } from '../../../drizzle/schema/notifications.ts';
import { webhookLogs } from '../../../drizzle/schema/webhook_logs.ts';
import { BrokerUnavailable } from '../../../server/brokers/errors.ts';
import { logger } from '../../../server/lib/logger.ts';
import type { ServiceContext } from '../../../server/services/context.ts';
import { executeSignal } from '../../../server/services/execution/execute-signal.ts';
import {
  type ExecutionHarness,
  setupAlpacaStrategy,
  startExecutionHarness,
  withSignalsHeld,
} from '../../helpers/execution.ts';

let harness: ExecutionHarness;
beforeAll(async () => {
  harness = await startExecutionHarness();
});
afterAll(() => harness.close());

const db = () => harness.server.deps.database.db;
const ctx = (): ServiceContext => ({ db: db(), log: logger, requestId: 'equity-outage', actor: { type: 'system' } });
const unreachable = {
  db: undefined as never,
  enqueueSubmit: async () => undefined,
  retrySubmit: async () => undefined,
  enqueuePoll: async () => undefined,
  adapterFor: async () => {
    throw new Error('no order is sent while the broker is unreachable');
  },
  adapterForRoute: () => {
    throw new Error('no order is sent while the broker is unreachable');
  },
  cancelOrders: async () => undefined,
  equity: {
    equityOf: async () => {
      throw new BrokerUnavailable('alpaca did not answer within 10000 ms');
    },
  },
};

describe('percent_of_equity while the broker is unreachable', () => {
  it('retries with the log received, then rejects it broker-unavailable on the last attempt, once', async () => {
    const routed = await setupAlpacaStrategy(harness, {
      sizingType: 'percent_of_equity',
      sizingValue: '10',
      useSignalQuantity: false,
    });
    let logId = 0;
    await withSignalsHeld(harness, async () => {
      const answer = await routed.send({ ticker: 'AAPL', action: 'buy', price: '50' });
      expect(answer.status).toBe(202);
      logId = Number(answer.body.id);
      const deps = { ...unreachable, db: db() };
      await expect(executeSignal(ctx(), deps, { webhookLogId: logId }, { attempt: 1, attempts: 5 })).rejects.toThrow(
        BrokerUnavailable,
      );
      const [waiting] = await db().select().from(webhookLogs).where(eq(webhookLogs.id, logId));
      expect(waiting?.status).toBe('received');

      const last = await executeSignal(ctx(), deps, { webhookLogId: logId }, { attempt: 5, attempts: 5 });
      expect(last).toEqual({ status: 'rejected', orderIds: [] });
      const again = await executeSignal(ctx(), deps, { webhookLogId: logId }, { attempt: 5, attempts: 5 });
      expect(again.status).toBe('rejected');
    });
    const [log] = await db().select().from(webhookLogs).where(eq(webhookLogs.id, logId));
    expect(log).toMatchObject({ status: 'rejected', errorCode: 'broker-unavailable' });
    expect(log?.errorMessage).toContain('could not be reached');
    const told = await db()
      .select()
      .from(notifications)
      .where(and(eq(notifications.userId, routed.trader.id), eq(notifications.type, 'signal.rejected')));
    expect(told).toHaveLength(1);
  });
});
