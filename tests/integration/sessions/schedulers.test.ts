/**
 * One session-upkeep scheduler (`session-<id>` on the sessions queue) per live connection, expired ones included,
 * at its broker's interval. Schedulers follow the brokers verbs at once and everything else through the periodic
 * sync; a tick for a connection that is gone removes its scheduler without calling the broker.
 */
import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerConnections } from '../../../drizzle/schema/broker_connections.ts';
import { sessionsProcessor } from '../../../server/jobs/processors/sessions.ts';
import {
  sessionIntervalsFromEnv,
  sessionSchedulerId,
  sessionSchedules,
  upsertSessionSync,
} from '../../../server/jobs/schedulers.ts';
import { logger } from '../../../server/lib/logger.ts';
import {
  EXPIRED_TRADOVATE_EVERY_MS,
  syncSessionSchedules,
} from '../../../server/services/brokers/sessions/schedules.ts';
import type { ServiceContext } from '../../../server/services/context.ts';
import type { ConnectInput } from '../../../shared/schemas/brokers.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { type SignedInUser, signUp } from '../../helpers/client.ts';
import { rememberSecret } from '../../helpers/secrets.ts';

let server: TestApp;
let trader: SignedInUser;
beforeAll(async () => {
  server = await startTestApp();
  trader = await signUp(server.url);
  rememberSecret('fake-secret', 'fake-password', 'fake-sec');
});
afterAll(() => server.close());

const system = (): ServiceContext => ({
  db: server.deps.database.db,
  log: logger,
  requestId: 'test-session-schedulers',
  actor: { type: 'system', job: 'sync-schedulers' },
});
const intervals = sessionIntervalsFromEnv();
const schedules = () => sessionSchedules(server.queues);
const sync = () => syncSessionSchedules(system(), schedules());
const schedulerOf = (connectionId: number) => server.queues.sessions.getJobScheduler(sessionSchedulerId(connectionId));

let counter = 0;
const inputs: Record<ConnectInput['broker'], () => ConnectInput> = {
  alpaca: () => ({
    broker: 'alpaca',
    name: `Alpaca ${++counter}`,
    environment: 'paper',
    credentials: { keyId: 'PKFAKEKEY0000000001', secretKey: 'fake-secret' },
  }),
  tradovate: () => ({
    broker: 'tradovate',
    name: `Tradovate ${++counter}`,
    environment: 'paper',
    credentials: {
      name: 'fakeuser',
      password: 'fake-password',
      appId: 'Fillpath',
      appVersion: '1.0',
      cid: 8,
      sec: 'fake-sec',
    },
  }),
  ibkr: () => ({
    broker: 'ibkr',
    name: `IBKR ${++counter}`,
    environment: 'paper',
    credentials: { accountId: 'DU1234567' },
  }),
};
const connect = (broker: ConnectInput['broker']) => trader.client.brokers.connect.mutate(inputs[broker]());

describe('connection changes', () => {
  it('a new connection gets its scheduler at once, at its broker’s interval; a disconnect removes it', async () => {
    for (const broker of ['alpaca', 'tradovate', 'ibkr'] as const) {
      const { id } = await connect(broker);
      const scheduler = await schedulerOf(id);
      expect(scheduler, broker).toMatchObject({ name: 'refresh-session', every: intervals[broker] });
      expect(scheduler?.template?.data).toEqual({ connectionId: id });
      expect(scheduler?.next).toBeLessThanOrEqual(Date.now() + intervals[broker]);

      await trader.client.brokers.disconnect.mutate({ id });
      expect(await schedulerOf(id), broker).toBeUndefined();
    }
  });

  it('a tick for a connection that is gone removes its scheduler without calling the broker', async () => {
    const { id } = await connect('alpaca');
    await trader.client.brokers.disconnect.mutate({ id });
    // As if the disconnect's scheduler removal had been lost (a crash, Redis away).
    await schedules().upsert(id, intervals.alpaca);
    const processor = sessionsProcessor({
      database: server.deps.database,
      log: logger,
      registry: server.deps.brokers,
      queues: server.queues,
    });
    const job = { id: 'gone-1', name: 'refresh-session', data: { connectionId: id }, attemptsMade: 0, opts: {} };
    expect(await processor(job as never)).toEqual({ status: 'skipped', reason: 'connection-gone' });
    expect(await schedulerOf(id)).toBeUndefined();
  });
});

describe('the periodic sync', () => {
  it('adds missing schedulers, removes leftovers, moves intervals, and keeps an expired connection', async () => {
    const alpaca = await connect('alpaca');
    const tradovate = await connect('tradovate');
    // What a crash between a commit and its scheduler change leaves behind.
    await schedules().remove(alpaca.id);
    await schedules().upsert(987_654_321, intervals.alpaca);
    await schedules().upsert(tradovate.id, 5_000);
    expect(await sync()).toMatchObject({ added: 1, updated: 1, removed: 1 });
    expect((await schedulerOf(alpaca.id))?.every).toBe(intervals.alpaca);
    expect((await schedulerOf(tradovate.id))?.every).toBe(intervals.tradovate);
    expect(await schedulerOf(987_654_321)).toBeUndefined();
    const next = (await schedulerOf(alpaca.id))?.next;
    expect(await sync()).toEqual({ added: 0, updated: 0, removed: 0 });
    expect((await schedulerOf(alpaca.id))?.next).toBe(next);

    // An expired connection keeps its checks (that is how its recovery is seen); Tradovate's slow down to spare
    // its failed-login budget.
    await server.deps.database.db
      .update(brokerConnections)
      .set({ status: 'expired' })
      .where(inArray(brokerConnections.id, [alpaca.id, tradovate.id]));
    expect(await sync()).toMatchObject({ updated: 1, removed: 0 });
    expect((await schedulerOf(alpaca.id))?.every).toBe(intervals.alpaca);
    expect((await schedulerOf(tradovate.id))?.every).toBe(EXPIRED_TRADOVATE_EVERY_MS);
  });

  it('is itself a scheduler on the sessions queue, every 30 s without retries', async () => {
    await upsertSessionSync(server.queues);
    try {
      expect(await server.queues.sessions.getJobScheduler('sync-schedulers')).toMatchObject({
        name: 'sync-schedulers',
        every: 30_000,
      });
    } finally {
      await server.queues.sessions.removeJobScheduler('sync-schedulers');
    }
  });
});
