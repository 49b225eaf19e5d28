/**
 * One reconciliation scheduler per connection that needs it: a live, usable connection with an active strategy
 * routed to it. Schedulers follow connection changes at once (the brokers verbs) and everything else through the
 * periodic sync (strategies paused or resumed, rules added, a crash leaving a scheduler behind).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  reconcileOffsetMs,
  reconcileSchedulerId,
  reconcileSchedules,
  upsertReconcileSync,
} from '../../../server/jobs/schedulers.ts';
import { env } from '../../../server/lib/env.ts';
import { logger } from '../../../server/lib/logger.ts';
import type { ServiceContext } from '../../../server/services/context.ts';
import { reconcileConnection } from '../../../server/services/reconcile/reconcile-connection.ts';
import { syncReconcileSchedules } from '../../../server/services/reconcile/schedules.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { type SignedInUser, signUp } from '../../helpers/client.ts';
import { rememberSecret } from '../../helpers/secrets.ts';

let server: TestApp;
beforeAll(async () => {
  server = await startTestApp();
});
afterAll(() => server.close());

const system = (): ServiceContext => ({
  db: server.deps.database.db,
  log: logger,
  requestId: 'test-reconcile-schedulers',
  actor: { type: 'system', job: 'sync-schedulers' },
});
const schedules = () => reconcileSchedules(server.queues);
const sync = () => syncReconcileSchedules(system(), schedules());
const schedulerOf = (connectionId: number) =>
  server.queues.reconcile.getJobScheduler(reconcileSchedulerId(connectionId));

let counter = 0;
async function connection(trader: SignedInUser) {
  rememberSecret('fake-secret');
  return trader.client.brokers.connect.mutate({
    broker: 'alpaca',
    name: `Alpaca ${++counter}`,
    environment: 'paper',
    credentials: { keyId: 'PKFAKEKEY0000000001', secretKey: 'fake-secret' },
  });
}

async function routedConnection() {
  const trader = await signUp(server.url);
  const created = await trader.client.strategies.create.mutate({ name: `Strategy ${++counter}` });
  rememberSecret(created.webhookToken);
  const { id: connectionId } = await connection(trader);
  await trader.client.routing.create.mutate({ strategyId: created.strategy.id, brokerConnectionId: connectionId });
  return { trader, strategyId: created.strategy.id, connectionId };
}

describe('the periodic sync', () => {
  it('schedules a routed connection every RECONCILE_INTERVAL_S and keeps its next run on later syncs', async () => {
    const { connectionId } = await routedConnection();
    expect(await schedulerOf(connectionId)).toBeUndefined();

    expect(await sync()).toMatchObject({ added: 1, removed: 0 });
    const scheduler = await schedulerOf(connectionId);
    expect(scheduler).toMatchObject({ name: 'reconcile-connection', every: env.RECONCILE_INTERVAL_S * 1_000 });
    expect(scheduler?.template?.data).toEqual({ connectionId });
    // In the connection's own slot of the interval, at most one interval away.
    const every = env.RECONCILE_INTERVAL_S * 1_000;
    expect((scheduler?.next ?? 0) % every).toBe(reconcileOffsetMs(connectionId, every));
    expect(scheduler?.next).toBeLessThanOrEqual(Date.now() + every);

    expect(await sync()).toEqual({ added: 0, updated: 0, removed: 0 });
    expect((await schedulerOf(connectionId))?.next).toBe(scheduler?.next);
  });

  it('drops the scheduler while the connection’s only strategy is paused and brings it back on resume', async () => {
    const { trader, strategyId, connectionId } = await routedConnection();
    await sync();
    await trader.client.strategies.pause.mutate({ id: strategyId });
    await sync();
    expect(await schedulerOf(connectionId)).toBeUndefined();
    await trader.client.strategies.resume.mutate({ id: strategyId });
    await sync();
    expect(await schedulerOf(connectionId)).toBeDefined();
  });

  it('leaves an unrouted connection alone, removes leftovers, and moves schedulers to a new interval', async () => {
    const trader = await signUp(server.url);
    const lonely = await connection(trader);
    const { connectionId } = await routedConnection();
    await sync();
    expect(await schedulerOf(lonely.id)).toBeUndefined();

    // What a crash between a commit and its scheduler change leaves: schedulers the database does not want.
    await reconcileSchedules(server.queues).upsert(lonely.id);
    await reconcileSchedules(server.queues).upsert(987_654_321);
    await reconcileSchedules(server.queues, 5_000).upsert(connectionId);
    expect(await sync()).toMatchObject({ removed: 2, updated: 1 });
    expect(await schedulerOf(lonely.id)).toBeUndefined();
    expect(await schedulerOf(987_654_321)).toBeUndefined();
    expect((await schedulerOf(connectionId))?.every).toBe(env.RECONCILE_INTERVAL_S * 1_000);
  });

  it('is itself a scheduler on the reconcile queue, every 30 s without retries', async () => {
    await upsertReconcileSync(server.queues);
    try {
      expect(await server.queues.reconcile.getJobScheduler('sync-schedulers')).toMatchObject({
        name: 'sync-schedulers',
        every: 30_000,
      });
    } finally {
      await server.queues.reconcile.removeJobScheduler('sync-schedulers');
    }
  });
});

describe('connection changes', () => {
  it('schedule a changed routed connection at once and unschedule a disconnected one', async () => {
    const { trader, connectionId } = await routedConnection();
    await trader.client.brokers.updateConnection.mutate({ id: connectionId, name: `Renamed ${++counter}` });
    expect(await schedulerOf(connectionId)).toBeDefined();

    await trader.client.brokers.disconnect.mutate({ id: connectionId });
    expect(await schedulerOf(connectionId)).toBeUndefined();
    await sync();
    expect(await schedulerOf(connectionId)).toBeUndefined();
  });

  it('a run for a connection that no longer exists removes its scheduler', async () => {
    const { trader, connectionId } = await routedConnection();
    await sync();
    await trader.client.brokers.disconnect.mutate({ id: connectionId });
    // As if the disconnect's scheduler removal had been lost (a crash, Redis away): the scheduler is still there.
    await schedules().upsert(connectionId);
    const unused = () => Promise.reject(new Error('no broker call expected'));
    const result = await reconcileConnection(
      system(),
      {
        db: server.deps.database.db,
        adapterFor: unused,
        enqueueSubmit: unused,
        enqueuePoll: unused,
        schedules: schedules(),
      },
      connectionId,
    );
    expect(result).toEqual({ status: 'skipped', reason: 'connection-gone' });
    expect(await schedulerOf(connectionId)).toBeUndefined();
  });
});
