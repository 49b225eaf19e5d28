/**
 * Broker-session upkeep at each fake broker (SPEC §6): a lost session sets the connection `expired` with the
 * broker's reason and notifies the trader once however often it is checked, signals for it end `rejected` with
 * `broker-session-expired` instead of waiting, reconciliation stops; a restored session clears all of it with one
 * `broker.session_restored`. Checks run concurrently still notify once; a broker outage changes nothing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sessionsQueue } from '../../../server/jobs/queues/index.ts';
import {
  reconcileSchedulerId,
  reconcileSchedules,
  sessionIntervalsFromEnv,
  sessionSchedulerId,
} from '../../../server/jobs/schedulers.ts';
import { EXPIRED_TRADOVATE_EVERY_MS } from '../../../server/services/brokers/sessions/schedules.ts';
import { syncConnectionSchedule } from '../../../server/services/reconcile/schedules.ts';
import { waitFor } from '../../helpers/app.ts';
import {
  ordersOfLog,
  type RoutedStrategy,
  sendAndSettle,
  setupAlpacaStrategy,
  setupIbkrStrategy,
  setupTradovateStrategy,
} from '../../helpers/execution.ts';
import { type SessionsHarness, startSessionsHarness } from './harness.ts';

let harness: SessionsHarness;
beforeAll(async () => {
  // The gateway's 1-per-5-s buckets would make every IBKR round trip slow.
  harness = await startSessionsHarness({ pacing: { ibkr: { default: { points: 1000, windowSeconds: 1 } } } });
});
afterAll(() => harness.close());
beforeEach(() => {
  harness.alpaca.controls.reset();
  harness.tradovate.controls.reset();
  harness.ibkr.controls.reset();
  harness.ibkr.controls.login();
});

let sent = 0;
const alert = (ticker: string) => ({ ticker, action: 'buy', quantity: '1', comment: `#${++sent}` });

interface Scenario {
  ticker: string;
  lose(): void;
  /** What else the test checks while the session is expired. */
  whileExpired?(): Promise<void>;
  restore(): void;
  /** The broker's reason, as the connection and the notification show it. */
  reason: RegExp;
}

/** Loses the session, checks it three times, sends a signal, restores it, checks twice: what the trader sees. */
async function loseAndRestore(routed: RoutedStrategy, scenario: Scenario) {
  const id = routed.connectionId;
  expect(await harness.tick(id)).toEqual({ status: 'connected', changed: false });

  scenario.lose();
  expect(await harness.tick(id)).toEqual({ status: 'expired', changed: true });
  expect(await harness.tick(id)).toEqual({ status: 'expired', changed: false });
  expect(await harness.tick(id)).toEqual({ status: 'expired', changed: false });
  const [listed] = (await routed.trader.client.brokers.getConnections.query({})).items;
  expect(listed).toMatchObject({ id, status: 'expired', statusMessage: expect.stringMatching(scenario.reason) });
  const lost = await harness.notices(routed.trader.id);
  expect(lost.restored).toEqual([]);
  expect(lost.expired).toHaveLength(1);
  expect(lost.expired[0]).toMatch(scenario.reason);

  // Fails fast, visible in the log, instead of waiting for a session that is not coming back by itself.
  const log = await sendAndSettle(harness, routed, alert(scenario.ticker));
  expect(log).toMatchObject({ status: 'rejected', errorCode: 'broker-session-expired' });
  expect(log.errorMessage).toContain('session');
  expect(await ordersOfLog(harness, log.id)).toHaveLength(0);
  await scenario.whileExpired?.();

  scenario.restore();
  expect(await harness.tick(id)).toEqual({ status: 'connected', changed: true });
  expect(await harness.tick(id)).toEqual({ status: 'connected', changed: false });
  expect(await harness.connection(id)).toMatchObject({ status: 'connected', statusMessage: null });
  const back = await harness.notices(routed.trader.id);
  expect(back.expired).toHaveLength(1);
  expect(back.restored).toHaveLength(1);

  const again = await sendAndSettle(harness, routed, alert(scenario.ticker));
  expect(again.status, again.errorMessage ?? '').toBe('executed');
}

describe('a lost session at each broker', () => {
  it('Alpaca keys revoked: expired with Alpaca’s reason, reconciliation paused, all back once the keys work', async () => {
    const routed = await setupAlpacaStrategy(harness);
    const account = harness.alpaca.state.accounts[0];
    if (!account) throw new Error('the fake has no account');
    const reconcile = reconcileSchedules(harness.server.queues);
    const reconcileScheduler = () =>
      harness.server.queues.reconcile.getJobScheduler(reconcileSchedulerId(routed.connectionId));
    await syncConnectionSchedule(harness.system(), reconcile, routed.connectionId);
    expect(await reconcileScheduler()).toBeDefined();

    await loseAndRestore(routed, {
      ticker: 'AAPL',
      lose: () => {
        account.secret = 'regenerated-in-the-dashboard';
      },
      // Its broker cannot answer: no reconciliation runs until the session is back.
      whileExpired: async () => expect(await reconcileScheduler()).toBeUndefined(),
      restore: () => {
        account.secret = 'fake-secret';
      },
      reason: /Alpaca rejected the API keys \(request is not authorized\)/,
    });
    expect(await reconcileScheduler()).toBeDefined();
  });

  it('Tradovate login refused after the token expired: expired, checked every 15 min meanwhile, restored', async () => {
    const routed = await setupTradovateStrategy(harness);
    const user = harness.tradovate.state.users[0];
    if (!user) throw new Error('the fake has no user');
    const scheduler = () => harness.server.queues.sessions.getJobScheduler(sessionSchedulerId(routed.connectionId));
    const normalEvery = sessionIntervalsFromEnv().tradovate;
    expect((await scheduler())?.every).toBe(normalEvery);

    await loseAndRestore(routed, {
      ticker: 'MESZ5',
      lose: () => {
        user.password = 'changed-on-the-website';
        harness.tradovate.controls.expireTokens();
      },
      // Each check of an expired connection is a login attempt, and Tradovate allows 5 failed ones an hour.
      whileExpired: async () => expect((await scheduler())?.every).toBe(EXPIRED_TRADOVATE_EVERY_MS),
      restore: () => {
        user.password = 'fake-password';
      },
      reason: /Tradovate login failed: Incorrect username or password/,
    });
    expect((await scheduler())?.every).toBe(normalEvery);
  });

  it('IBKR gateway session ended: expired until the trader logs in to the gateway again', async () => {
    const routed = await setupIbkrStrategy(harness);
    await loseAndRestore(routed, {
      ticker: 'AAPL',
      lose: () => harness.ibkr.controls.expireSession(),
      restore: () => harness.ibkr.controls.login(),
      reason: /IBKR gateway session expired: log in to the gateway again/,
    });
  });

  it('IBKR brokerage session taken by another login: expired with that reason; a plain drop is restored by the tickle', async () => {
    const routed = await setupIbkrStrategy(harness);
    const id = routed.connectionId;
    expect(await harness.tick(id)).toEqual({ status: 'connected', changed: false });

    // No person is needed to restore a dropped brokerage session: the tickle does it and the trader hears nothing.
    harness.ibkr.controls.dropBrokerageSession();
    expect(await harness.tick(id)).toEqual({ status: 'connected', changed: false });
    expect(await harness.notices(routed.trader.id)).toEqual({ expired: [], restored: [] });

    harness.ibkr.controls.dropBrokerageSession({ competing: true });
    expect(await harness.tick(id)).toEqual({ status: 'expired', changed: true });
    expect(await harness.tick(id)).toEqual({ status: 'expired', changed: false });
    expect((await harness.connection(id)).statusMessage).toMatch(/taken by another login/);
    expect((await harness.notices(routed.trader.id)).expired).toHaveLength(1);

    harness.ibkr.controls.login();
    expect(await harness.tick(id)).toEqual({ status: 'connected', changed: true });
    expect((await harness.notices(routed.trader.id)).restored).toHaveLength(1);
  });
});

describe('keeping a session alive', () => {
  it('Tradovate: checks outside the renewal window spend no renewal; the first check inside it renews', async () => {
    const routed = await setupTradovateStrategy(harness);
    const id = routed.connectionId;
    const renewals = () => harness.tradovate.state.limitEvents.get('renewaccesstoken')?.length ?? 0;
    const expiresAt = async () => (await harness.connection(id)).sessionExpiresAt?.getTime() ?? 0;
    for (let i = 0; i < 3; i++) expect(await harness.tick(id)).toEqual({ status: 'connected', changed: false });
    // Renewals are budgeted (15 an hour): a 90-minute token is renewed only in its last 15 minutes.
    expect(renewals()).toBe(0);
    expect(await expiresAt()).toBeGreaterThan(Date.now() + 80 * 60_000);

    // Short-lived tokens fall due for renewal at half their life.
    harness.tradovate.controls.configure({ tokenLifetimeMs: 2_000 });
    harness.tradovate.controls.expireTokens();
    await harness.tick(id);
    const shortLived = await expiresAt();
    await waitFor(
      async () => {
        await harness.tick(id);
        return renewals() > 0;
      },
      5_000,
      200,
    );
    expect(await expiresAt()).toBeGreaterThan(shortLived);
    expect(await harness.connection(id)).toMatchObject({ status: 'connected', statusMessage: null });
    expect(await harness.notices(routed.trader.id)).toEqual({ expired: [], restored: [] });
  });
});

describe('checks that race or meet an outage', () => {
  it('concurrent checks of one connection notify once when the session goes and once when it comes back', async () => {
    const routed = await setupAlpacaStrategy(harness);
    const account = harness.alpaca.state.accounts[0];
    if (!account) throw new Error('the fake has no account');
    const id = routed.connectionId;
    await harness.tick(id);

    account.secret = 'regenerated-in-the-dashboard';
    const lost = await Promise.all([1, 2, 3, 4].map(() => harness.tick(id)));
    expect(lost.filter((r) => (r as { changed: boolean }).changed)).toHaveLength(1);
    expect((await harness.notices(routed.trader.id)).expired).toHaveLength(1);

    account.secret = 'fake-secret';
    const back = await Promise.all([1, 2, 3, 4].map(() => harness.tick(id)));
    expect(back.filter((r) => (r as { changed: boolean }).changed)).toHaveLength(1);
    expect(await harness.notices(routed.trader.id)).toMatchObject({ expired: [expect.any(String)] });
    expect((await harness.notices(routed.trader.id)).restored).toHaveLength(1);
  });

  it('a broker 5xx outage neither expires a working session nor restores an expired one', async () => {
    const routed = await setupAlpacaStrategy(harness);
    const account = harness.alpaca.state.accounts[0];
    if (!account) throw new Error('the fake has no account');
    const id = routed.connectionId;
    const { attempts } = sessionsQueue.defaultJobOptions;
    await harness.tick(id);

    harness.alpaca.controls.failNext(50, { status: 503 });
    // Retried with backoff while attempts remain; the last attempt ends quietly, with no dead letter.
    await expect(harness.tick(id)).rejects.toMatchObject({ code: 'broker-unavailable' });
    expect(await harness.tick(id, attempts)).toEqual({ status: 'unchanged', reason: 'broker-unavailable' });
    expect(await harness.connection(id)).toMatchObject({ status: 'connected', statusMessage: null });
    harness.alpaca.controls.clearFaults();

    account.secret = 'regenerated-in-the-dashboard';
    expect(await harness.tick(id)).toEqual({ status: 'expired', changed: true });
    account.secret = 'fake-secret';
    harness.alpaca.controls.failNext(50, { status: 503 });
    expect(await harness.tick(id, attempts)).toEqual({ status: 'unchanged', reason: 'broker-unavailable' });
    expect((await harness.connection(id)).status).toBe('expired');
    harness.alpaca.controls.clearFaults();

    expect(await harness.tick(id)).toEqual({ status: 'connected', changed: true });
    expect(await harness.notices(routed.trader.id)).toMatchObject({ restored: [expect.any(String)] });
    expect((await harness.notices(routed.trader.id)).expired).toHaveLength(1);
  });
});
