/**
 * The per-connection circuit breaker against a real fake broker: consecutive 5xx open it, an open circuit keeps
 * traffic off the broker, it half-opens after the reset time and closes on a success, and a broker's final "no"
 * (a rejection) never opens it. Requests that reach the fake are counted through its fault queue.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BrokerRejected, BrokerUnavailable } from '../../server/brokers/errors.ts';
import { BrokerRegistry } from '../../server/brokers/registry.ts';
import { type FakeAlpaca, startFakeAlpaca } from '../fakes/alpaca.ts';

const SETTINGS = { volumeThreshold: 3, errorThresholdPercentage: 50, resetTimeoutMs: 300, timeoutMs: 2_000 };
let fake: FakeAlpaca;
let registry: BrokerRegistry;

beforeAll(async () => {
  fake = await startFakeAlpaca();
});
afterEach(() => {
  registry.close();
  fake.controls.clearFaults();
});
afterAll(() => fake.close());

let nextId = 1;
function connection() {
  registry = new BrokerRegistry({
    urls: {
      alpacaPaper: fake.url,
      alpacaLive: fake.url,
      tradovateDemo: fake.url,
      tradovateLive: fake.url,
      ibkrGateway: fake.url,
    },
    breaker: SETTINGS,
  });
  return registry.forConnection({
    id: nextId++,
    broker: 'alpaca',
    environment: 'paper',
    credentials: { keyId: 'PKFAKEKEY0000000001', secretKey: 'fake-secret' },
    version: '1',
  });
}

/** Requests the fake has answered with the injected 503 so far. */
function failuresServed(injected: number): number {
  const remaining = fake.controls.listFaults().reduce((sum, fault) => sum + (fault.count ?? 0), 0);
  return injected - remaining;
}

async function outcome(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => 'ok',
    (error: unknown) => error,
  );
}

describe('broker circuit breaker', () => {
  it('opens after repeated 5xx, keeps requests off the broker while open, then half-opens and closes', async () => {
    const adapter = connection();
    fake.controls.failNext(100, { status: 503 });
    for (let i = 0; i < SETTINGS.volumeThreshold; i++) {
      expect(await outcome(adapter.getAccount())).toBeInstanceOf(BrokerUnavailable);
    }
    expect(adapter.state).toBe('open');
    expect(failuresServed(100)).toBe(SETTINGS.volumeThreshold);

    // While open: answered at once, nothing reaches the broker.
    for (let i = 0; i < 10; i++) {
      const error = await outcome(adapter.getPositions());
      expect(error).toBeInstanceOf(BrokerUnavailable);
      expect((error as BrokerUnavailable).message).toMatch(/paused after repeated broker failures/);
    }
    expect(failuresServed(100)).toBe(SETTINGS.volumeThreshold);

    // The broker recovers; after the reset time one trial call goes through and closes the circuit.
    fake.controls.clearFaults();
    const halfOpen = new Promise<void>((resolve) =>
      adapter.onStateChange((state) => state === 'half_open' && resolve()),
    );
    await halfOpen;
    expect(adapter.state).toBe('half_open');
    await expect(adapter.getAccount()).resolves.toMatchObject({ currency: 'USD' });
    expect(adapter.state).toBe('closed');
    await expect(adapter.getPositions()).resolves.toEqual([]);
  });

  it('reopens at once when the half-open trial call fails', async () => {
    const adapter = connection();
    fake.controls.failNext(100, { status: 502 });
    for (let i = 0; i < SETTINGS.volumeThreshold; i++) await outcome(adapter.getAccount());
    expect(adapter.state).toBe('open');
    await new Promise<void>((resolve) => adapter.onStateChange((state) => state === 'half_open' && resolve()));
    expect(await outcome(adapter.getAccount())).toBeInstanceOf(BrokerUnavailable);
    expect(adapter.state).toBe('open');
    expect(failuresServed(100)).toBe(SETTINGS.volumeThreshold + 1);
  });

  it('never opens on rejections, however many', async () => {
    const adapter = connection();
    fake.controls.rejectNextOrder({ count: 10 });
    for (let i = 0; i < 10; i++) {
      const error = await outcome(
        adapter.submitOrder({
          clientOrderId: `fp-reject-${i}`,
          symbol: 'AAPL',
          side: 'buy',
          quantity: '1',
          orderType: 'market',
          timeInForce: 'day',
        }),
      );
      expect(error).toBeInstanceOf(BrokerRejected);
    }
    expect(adapter.state).toBe('closed');
    await expect(adapter.getAccount()).resolves.toMatchObject({ currency: 'USD' });
  });

  it('times out a hung call by aborting it, and counts the timeout as a failure', async () => {
    registry = new BrokerRegistry({
      urls: { alpacaPaper: fake.url, alpacaLive: fake.url, tradovateDemo: '', tradovateLive: '', ibkrGateway: '' },
      breaker: { ...SETTINGS, timeoutMs: 200, volumeThreshold: 1 },
    });
    const adapter = registry.forConnection({
      id: 999,
      broker: 'alpaca',
      environment: 'paper',
      credentials: { keyId: 'PKFAKEKEY0000000001', secretKey: 'fake-secret' },
      version: '1',
    });
    fake.controls.hangNext({ path: '/v2/account' });
    const started = Date.now();
    const error = await outcome(adapter.getAccount());
    expect(error).toBeInstanceOf(BrokerUnavailable);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(adapter.state).toBe('open');
  });

  it('gives each connection one breaker, kept across calls and replaced when the connection changes', () => {
    const first = connection();
    const spec = {
      id: nextId - 1,
      broker: 'alpaca' as const,
      environment: 'paper' as const,
      credentials: { keyId: 'PKFAKEKEY0000000001', secretKey: 'fake-secret' },
    };
    expect(registry.forConnection({ ...spec, version: '1' })).toBe(first);
    expect(registry.forConnection({ ...spec, version: '2' })).not.toBe(first);
    expect(registry.breakerStates()).toEqual([{ connectionId: spec.id, broker: 'alpaca', state: 'closed' }]);
  });
});
