/**
 * The Tradovate adapter's session against the Tradovate fake (BROKERS.md §2.1, §2.5, §2.6): logins that fail with
 * HTTP 200, penalty tickets, captcha, renewal before expiry, one shared login for concurrent calls, 401 handling,
 * pacing buckets and transport failures. Orders are in adapter-tradovate-orders.test.ts.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { BrokerAuthExpired, BrokerRejected, BrokerUnavailable } from '../../server/brokers/errors.ts';
import { createPacer, type Pacer } from '../../server/brokers/pacing.ts';
import { createTradovateAdapter, TRADOVATE_PACING } from '../../server/brokers/tradovate/index.ts';
import type { TradovateCredentials } from '../../server/brokers/types.ts';
import { type FakeTradovate, startFakeTradovate } from '../fakes/tradovate.ts';

const CREDENTIALS: TradovateCredentials = {
  name: 'fakeuser',
  password: 'fake-password',
  appId: 'Fillpath',
  appVersion: '1.0',
  cid: 8,
  sec: 'fake-sec',
  deviceId: 'device-test-1',
};
const MINUTE = 60_000;

const fake: FakeTradovate = await startFakeTradovate();
afterAll(() => fake.close());

/** The adapter's clock follows the fake's: both move together with advance(). */
let offset = 0;
const advance = (ms: number) => {
  offset += ms;
  fake.controls.advanceTime(ms);
};
beforeEach(() => {
  fake.controls.reset();
  offset = 0;
});

function adapterFor(credentials: Partial<TradovateCredentials> = {}, pacer?: Pacer, url = fake.url) {
  return createTradovateAdapter(
    {
      baseUrl: url,
      environment: 'paper',
      credentials: { ...CREDENTIALS, ...credentials },
      pacer: pacer ?? createPacer('tradovate-test', TRADOVATE_PACING),
    },
    { now: () => Date.now() + offset },
  );
}

const renewals = () => fake.state.limitEvents.get('renewaccesstoken')?.length ?? 0;
/** Every token the fake issued (logins and renewals). */
const tokens = () => fake.state.tokens.length;

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

describe('Tradovate adapter: login', () => {
  it('maps a failed login (HTTP 200 with errorText) to BrokerAuthExpired with the broker text', async () => {
    const adapter = adapterFor({ password: 'wrong' });
    const error = await failure(adapter.getPositions());
    expect(error).toBeInstanceOf(BrokerAuthExpired);
    expect(error.message).toMatch(/Incorrect username or password/);
    expect(error.message).not.toContain('wrong');
    const bad = await failure(adapterFor({ sec: 'nope' }).getAccount());
    expect(bad).toBeInstanceOf(BrokerAuthExpired);
    expect(bad.message).toMatch(/Incorrect API key/);
    expect(tokens()).toBe(0);
  });

  it('checkSession answers ok: false instead of throwing when the login fails', async () => {
    const status = await adapterFor({ password: 'wrong' }).checkSession();
    expect(status).toMatchObject({ ok: false, expiresAt: null, reason: expect.stringMatching(/Incorrect username/) });
  });

  it('refuses a user whose userStatus is not Active', async () => {
    const closed = await startFakeTradovate({
      users: [{ name: 'fakeuser', password: 'fake-password', cid: 8, sec: 'fake-sec', userStatus: 'Closed' }],
    });
    try {
      const error = await failure(adapterFor({}, undefined, closed.url).getPositions());
      expect(error).toBeInstanceOf(BrokerAuthExpired);
      expect(error.message).toMatch(/user status is Closed/);
    } finally {
      await closed.close();
    }
  });

  it('logs in through the auth pacing bucket, with the stable deviceId', async () => {
    const taken: Array<string | undefined> = [];
    const recording: Pacer = { take: async (bucket) => void taken.push(bucket) };
    const adapter = adapterFor({}, recording);
    await adapter.getPositions();
    expect(taken[0]).toBe('auth');
    expect(taken.slice(1).every((bucket) => bucket === undefined)).toBe(true);
    expect(fake.state.users[0]?.deviceId).toBe('device-test-1');
    expect(TRADOVATE_PACING.auth).toEqual({ points: 5, windowSeconds: 3600 });
  });

  it('shares one login among concurrent first calls (single flight)', async () => {
    const adapter = adapterFor();
    await Promise.all([
      adapter.getPositions(),
      adapter.getOpenOrders(),
      adapter.getAccount(),
      adapter.checkSession(),
      adapter.getOrderByClientId('fp-none'),
    ]);
    expect(tokens()).toBe(1);
  });
});

describe('Tradovate adapter: penalty tickets', () => {
  it('waits p-time and resends the same body with the p-ticket', async () => {
    fake.controls.pTicketNext({ time: 1, endpoint: 'accesstokenrequest' });
    const adapter = adapterFor();
    const started = Date.now();
    const status = await adapter.checkSession();
    expect(status.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(fake.state.pTickets.size).toBe(0); // the ticket came back and was consumed
    expect(tokens()).toBe(1);
  });

  it('does not sit out a long p-time: BrokerUnavailable with retryAfterMs, and the next attempt brings the ticket', async () => {
    fake.controls.pTicketNext({ time: 120, endpoint: 'accesstokenrequest' });
    const adapter = adapterFor();
    const error = await failure(adapter.getPositions());
    expect(error).toBeInstanceOf(BrokerUnavailable);
    expect((error as BrokerUnavailable).retryAfterMs).toBe(120_000);
    expect(error.message).toMatch(/wait 120 s/);
    advance(120_000);
    await expect(adapter.getPositions()).resolves.toEqual([]);
    expect(fake.state.pTickets.size).toBe(0);
    expect(tokens()).toBe(1);
  });

  it('a penalty wait is abortable through the signal', async () => {
    fake.controls.pTicketNext({ time: 30, endpoint: 'accesstokenrequest' });
    const started = Date.now();
    const error = await failure(adapterFor().getPositions({ signal: AbortSignal.timeout(150) }));
    expect(error).toBeInstanceOf(BrokerUnavailable);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('p-captcha ends it: BrokerAuthExpired telling the trader to wait about an hour', async () => {
    fake.controls.pTicketNext({ captcha: true, endpoint: 'accesstokenrequest' });
    const error = await failure(adapterFor().getAccount());
    expect(error).toBeInstanceOf(BrokerAuthExpired);
    expect(error.message).toMatch(/captcha; wait about an hour/);
  });
});

describe('Tradovate adapter: token upkeep', () => {
  it('renews about 15 minutes before expirationTime, once for concurrent calls, and keeps the session', async () => {
    const adapter = adapterFor();
    const first = await adapter.checkSession();
    expect(first.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 89 * MINUTE);
    advance(70 * MINUTE); // 20 min left: nothing to do yet
    await adapter.getPositions();
    expect(renewals()).toBe(0);
    advance(6 * MINUTE); // 14 min left: renew first
    await Promise.all([adapter.getPositions(), adapter.getOpenOrders(), adapter.getAccount()]);
    expect(renewals()).toBe(1);
    expect(tokens()).toBe(2);
    advance(20 * MINUTE); // past the first token's expiry: the renewed one carries on, no new login
    const later = await adapter.checkSession();
    expect(later.ok).toBe(true);
    expect(later.expiresAt?.getTime()).toBeGreaterThan((first.expiresAt?.getTime() ?? 0) + 70 * MINUTE);
    expect(tokens()).toBe(2);
  });

  it('logs in again (not renew) once the token has expired', async () => {
    const adapter = adapterFor();
    await adapter.getPositions();
    advance(91 * MINUTE);
    await adapter.getPositions();
    expect(renewals()).toBe(0);
    expect(tokens()).toBe(2);
  });

  it('renewSession forces a renewal and returns the new expiry', async () => {
    const adapter = adapterFor();
    const before = await adapter.checkSession();
    advance(5 * MINUTE);
    const renewed = await adapter.renewSession();
    expect(renewed.ok).toBe(true);
    expect(renewed.expiresAt?.getTime()).toBeGreaterThanOrEqual((before.expiresAt?.getTime() ?? 0) + 5 * MINUTE);
    expect(renewals()).toBe(1);
  });

  it('a failed renewal does not stop a token that still works', async () => {
    const adapter = adapterFor();
    await adapter.getPositions();
    advance(80 * MINUTE);
    fake.controls.failNext(1, { status: 503, path: '/auth/renewaccesstoken' });
    await expect(adapter.getPositions()).resolves.toEqual([]);
    expect(tokens()).toBe(1);
  });

  it('a 401 drops the token and logs in once more (once for concurrent calls)', async () => {
    const adapter = adapterFor();
    await adapter.getPositions();
    fake.controls.expireTokens();
    const answers = await Promise.all([adapter.getPositions(), adapter.getOpenOrders(), adapter.getPositions()]);
    expect(answers).toEqual([[], [], []]);
    expect(tokens()).toBe(2); // three 401s, one shared re-login
  });

  it('a second 401 after the fresh login is BrokerAuthExpired', async () => {
    const adapter = adapterFor();
    await adapter.getPositions();
    fake.controls.failNext(2, { status: 401, text: 'Access is denied', path: '/position/list' });
    const error = await failure(adapter.getPositions());
    expect(error).toBeInstanceOf(BrokerAuthExpired);
    expect(error.message).toMatch(/Access is denied/);
    expect(tokens()).toBe(2);
    expect((await adapter.checkSession()).ok).toBe(true);
  });
});

describe('Tradovate adapter: transport and status failures', () => {
  it('429 and 5xx are BrokerUnavailable; a 429 on the token request means the hour-long lockout', async () => {
    const adapter = adapterFor();
    fake.controls.rateLimitNext(1, { path: '/auth/accesstokenrequest' });
    const locked = await failure(adapter.getPositions());
    expect(locked).toBeInstanceOf(BrokerUnavailable);
    expect((locked as BrokerUnavailable).retryAfterMs).toBe(3_600_000);
    fake.controls.rateLimitNext(1, { path: '/position/list' });
    const limited = await failure(adapter.getPositions());
    expect(limited).toBeInstanceOf(BrokerUnavailable);
    expect(limited.message).toMatch(/rate limit/);
    fake.controls.failNext(1, { status: 502, path: '/position/list' });
    expect(await failure(adapter.getPositions())).toBeInstanceOf(BrokerUnavailable);
    fake.controls.failNext(1, { status: 400, path: '/position/list' });
    expect(await failure(adapter.getPositions())).toBeInstanceOf(BrokerRejected);
  });

  it('an aborted call cancels a hung request promptly with BrokerUnavailable', async () => {
    const adapter = adapterFor();
    await adapter.getPositions();
    fake.controls.hangNext({ path: '/position/list' });
    const started = Date.now();
    const error = await failure(adapter.getPositions({ signal: AbortSignal.timeout(150) }));
    expect(error).toBeInstanceOf(BrokerUnavailable);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a hung login is abandoned when its only caller gives up; the next call logs in afresh', async () => {
    const adapter = adapterFor();
    fake.controls.hangNext({ path: '/auth/accesstokenrequest', process: false });
    const error = await failure(adapter.getPositions({ signal: AbortSignal.timeout(150) }));
    expect(error).toBeInstanceOf(BrokerUnavailable);
    await expect(adapter.getPositions()).resolves.toEqual([]);
    expect(tokens()).toBe(1);
  });
});
