/**
 * The Alpaca adapter's failure paths against the fake: each error body of BROKERS.md §1.6 to its typed error, the
 * duplicate-client-id idempotency of §1.8, aborts, and pacing before every call.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createAlpacaAdapter } from '../../server/brokers/alpaca/index.ts';
import { BrokerAuthExpired, BrokerRejected, BrokerUnavailable } from '../../server/brokers/errors.ts';
import { noPacing, type Pacer } from '../../server/brokers/pacing.ts';
import type { BrokerAdapter, OrderRequest } from '../../server/brokers/types.ts';
import { type FakeAlpaca, startFakeAlpaca } from '../fakes/alpaca.ts';

const KEYS = { keyId: 'PKFAKEKEY0000000001', secretKey: 'fake-secret' };
const fake: FakeAlpaca = await startFakeAlpaca();
const adapterWith = (pacer: Pacer = noPacing, secretKey = KEYS.secretKey): BrokerAdapter =>
  createAlpacaAdapter({ baseUrl: fake.url, environment: 'paper', credentials: { ...KEYS, secretKey }, pacer });
const adapter = adapterWith();
afterAll(() => fake.close());
beforeEach(() => fake.controls.reset());

let seq = 0;
const order = (extra: Partial<OrderRequest> = {}): OrderRequest => {
  seq += 1;
  return {
    clientOrderId: `fp-err-${seq}`,
    symbol: 'AAPL',
    side: 'buy',
    quantity: '10',
    orderType: 'market',
    timeInForce: 'day',
    ...extra,
  };
};

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('Alpaca adapter: error bodies (§1.6)', () => {
  it('401 and the bare 403 "forbidden." are BrokerAuthExpired, without the secret in the message', async () => {
    const bad = adapterWith(noPacing, 'wrong-secret');
    const unauthorized = await failure(bad.getAccount());
    expect(unauthorized).toBeInstanceOf(BrokerAuthExpired);
    expect(unauthorized.message).toBe('Alpaca rejected the API keys (request is not authorized)');
    fake.controls.configure({ badSecretStatus: 403 });
    const forbidden = await failure(bad.submitOrder(order()));
    expect(forbidden).toBeInstanceOf(BrokerAuthExpired);
    expect(forbidden.message).toMatch(/rejected the API keys \(forbidden\.\)/);
    expect(forbidden.message).not.toContain('wrong-secret');
    expect(fake.state.engine.orders).toHaveLength(0);
  });

  it('403 insufficient buying power is BrokerRejected with the broker code', async () => {
    fake.controls.setCash('100');
    const error = await failure(adapter.submitOrder(order()));
    expect(error).toBeInstanceOf(BrokerRejected);
    expect(error.message).toBe('Alpaca rejected the order: insufficient buying power');
    expect(error).toMatchObject({ brokerCode: '40310000' });
  });

  it('403 shares held by open orders is BrokerRejected with the quantities', async () => {
    await adapter.submitOrder(order({ quantity: '10' }));
    await fake.controls.waitFor(() => fake.state.engine.orders[0]?.status === 'filled');
    await adapter.submitOrder(order({ side: 'sell', orderType: 'limit', limitPrice: '200', timeInForce: 'gtc' }));
    const error = await failure(adapter.submitOrder(order({ side: 'sell', quantity: '5' })));
    expect(error).toBeInstanceOf(BrokerRejected);
    expect(error.message).toMatch(/insufficient qty available for order \(requested: 5, available: 0\)/);
  });

  it('403 "account is not authorized to trade" is BrokerRejected', async () => {
    fake.controls.configure({ tradingBlocked: true });
    const blocked = await failure(adapter.submitOrder(order()));
    expect(blocked).toBeInstanceOf(BrokerRejected);
    expect(blocked.message).toMatch(/not authorized to trade/);
  });

  it('422 bad input is BrokerRejected with the broker message and code', async () => {
    const unknown = await failure(adapter.submitOrder(order({ symbol: 'NOPE' })));
    expect(unknown).toBeInstanceOf(BrokerRejected);
    expect(unknown.message).toBe('Alpaca rejected the order: asset "NOPE" not found');
    expect(unknown).toMatchObject({ brokerCode: '40010001' });
    const fractional = await failure(adapter.submitOrder(order({ quantity: '1.5', timeInForce: 'gtc' })));
    expect(fractional.message).toMatch(/fractional orders must be market orders/);
  });

  it('429 is BrokerUnavailable with retryAfterMs from X-Ratelimit-Reset', async () => {
    fake.controls.rateLimitNext(1);
    const error = await failure(adapter.getPositions());
    expect(error).toBeInstanceOf(BrokerUnavailable);
    expect(error.message).toMatch(/rate limit exceeded/);
    const { retryAfterMs } = error as BrokerUnavailable;
    expect(retryAfterMs).toBeGreaterThan(55_000);
    expect(retryAfterMs).toBeLessThanOrEqual(61_000);
  });

  it('5xx (JSON, text or empty) is BrokerUnavailable', async () => {
    fake.controls.failNext(1, { status: 503 });
    const json = await failure(adapter.getAccount());
    expect(json).toBeInstanceOf(BrokerUnavailable);
    expect(json.message).toBe('Alpaca is unavailable (HTTP 503: internal server error)');
    fake.controls.failNext(1, { status: 502, text: '<html><body>Bad Gateway</body></html>' });
    expect((await failure(adapter.getOpenOrders())).message).toBe('Alpaca is unavailable (HTTP 502: HTTP 502)');
    fake.controls.failNext(1, { status: 500, text: '' });
    expect(await failure(adapter.cancelOrder('00000000-0000-4000-8000-000000000000'))).toBeInstanceOf(
      BrokerUnavailable,
    );
  });

  it('an error body inside HTTP 200 is still a rejection; an unreadable 200 is retryable', async () => {
    fake.controls.failNext(1, { status: 200, method: 'POST', body: { code: 40310000, message: 'account is blocked' } });
    const inside = await failure(adapter.submitOrder(order()));
    expect(inside).toBeInstanceOf(BrokerRejected);
    expect(inside.message).toMatch(/account is blocked/);
    fake.controls.failNext(1, { status: 200, text: 'OK' });
    expect(await failure(adapter.getAccount())).toBeInstanceOf(BrokerUnavailable);
    expect(fake.state.engine.orders).toHaveLength(0);
  });

  it('a network failure is BrokerUnavailable', async () => {
    const closed = await startFakeAlpaca();
    await closed.close();
    const gone = createAlpacaAdapter({ baseUrl: closed.url, environment: 'paper', credentials: KEYS, pacer: noPacing });
    const error = await failure(gone.getAccount());
    expect(error).toBeInstanceOf(BrokerUnavailable);
    await expect(gone.checkSession()).rejects.toBeInstanceOf(BrokerUnavailable);
  });
});

describe('Alpaca adapter: idempotency (§1.8)', () => {
  it('a dropped submit response: the retry finds the order, and the fake holds exactly one', async () => {
    const request = order({ clientOrderId: 'fp-dropped' });
    fake.controls.dropNextResponse({ method: 'POST', path: '/v2/orders' });
    expect(await failure(adapter.submitOrder(request))).toBeInstanceOf(BrokerUnavailable);
    const found = await adapter.getOrderByClientId('fp-dropped');
    expect(found).toMatchObject({ clientOrderId: 'fp-dropped', quantity: '10' });
    const resubmitted = await adapter.submitOrder(request);
    expect(resubmitted.brokerOrderId).toBe(found?.brokerOrderId);
    expect(fake.controls.ordersByClientId('fp-dropped')).toHaveLength(1);
  });

  it('a duplicate client id (422 40010001) returns the existing order, never a rejection', async () => {
    const first = await adapter.submitOrder(order({ clientOrderId: 'fp-twice' }));
    const second = await adapter.submitOrder(order({ clientOrderId: 'fp-twice', quantity: '10' }));
    expect(second.brokerOrderId).toBe(first.brokerOrderId);
    expect(fake.controls.ordersByClientId('fp-twice')).toHaveLength(1);
  });

  it('a duplicate whose lookup finds nothing is retryable, not a rejection', async () => {
    fake.controls.failNext(1, {
      method: 'POST',
      status: 422,
      body: { code: 40010001, message: 'client_order_id must be unique' },
    });
    const error = await failure(adapter.submitOrder(order({ clientOrderId: 'fp-ghost' })));
    expect(error).toBeInstanceOf(BrokerUnavailable);
  });
});

describe('Alpaca adapter: aborts and pacing', () => {
  it('an abort cancels a hung submit promptly with BrokerUnavailable', async () => {
    fake.controls.hangNext({ method: 'POST', path: '/v2/orders' });
    const controller = new AbortController();
    const pending = failure(adapter.submitOrder(order({ clientOrderId: 'fp-hung' }), { signal: controller.signal }));
    await fake.controls.waitFor(() => fake.controls.ordersByClientId('fp-hung').length === 1);
    const abortedAt = Date.now();
    controller.abort();
    const error = await pending;
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    expect(error).toBeInstanceOf(BrokerUnavailable);
    expect(error.message).toMatch(/timed out/);
  });

  it('a timeout signal cancels a hung read', async () => {
    fake.controls.hangNext({ path: '/v2/account' });
    const startedAt = Date.now();
    const error = await failure(adapter.getAccount({ signal: AbortSignal.timeout(100) }));
    expect(error).toBeInstanceOf(BrokerUnavailable);
    expect(Date.now() - startedAt).toBeLessThan(2000);
  });

  it('takes a pacing token before every HTTP call', async () => {
    let taken = 0;
    const counting = adapterWith({
      take: async () => {
        taken += 1;
      },
    });
    fake.controls.configure({ rateLimitPerMinute: 10_000 }); // the fake counts requests per key in its window
    await counting.submitOrder(order({ clientOrderId: 'fp-paced' }));
    await counting.submitOrder(order({ clientOrderId: 'fp-paced' })); // duplicate: POST + lookup
    await counting.getOrder('00000000-0000-4000-8000-000000000000');
    await counting.getAccount();
    await counting.getPositions();
    await counting.getOpenOrders();
    await counting.checkSession();
    await counting.renewSession();
    await failure(counting.cancelOrder('00000000-0000-4000-8000-000000000000'));
    expect(taken).toBe(10);
    expect(fake.state.rateWindows.get(KEYS.keyId)?.count).toBe(taken);
  });
});
