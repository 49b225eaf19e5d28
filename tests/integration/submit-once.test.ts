/**
 * The retry path every order submit takes (submitOnce through the registry's guarded adapter), against each fake:
 * the broker stores the order but the answer is lost; the retry finds the order by its client id instead of placing
 * a second one, and the broker holds exactly one order with that id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerUnavailable } from '../../server/brokers/errors.ts';
import { BrokerRegistry, type ConnectionSpec } from '../../server/brokers/registry.ts';
import { submitOnce } from '../../server/brokers/resilience.ts';
import type { OrderRequest } from '../../server/brokers/types.ts';
import { type FakeAlpaca, startFakeAlpaca } from '../fakes/alpaca.ts';
import { type FakeIbkr, startFakeIbkr } from '../fakes/ibkr.ts';
import { type FakeTradovate, startFakeTradovate } from '../fakes/tradovate.ts';

let alpaca: FakeAlpaca;
let tradovate: FakeTradovate;
let ibkr: FakeIbkr;
let registry: BrokerRegistry;

beforeAll(async () => {
  [alpaca, tradovate, ibkr] = await Promise.all([startFakeAlpaca(), startFakeTradovate(), startFakeIbkr()]);
  ibkr.controls.login();
  const fast = { default: { points: 1000, windowSeconds: 1 } };
  registry = new BrokerRegistry({
    urls: {
      alpacaPaper: alpaca.url,
      alpacaLive: alpaca.url,
      tradovateDemo: tradovate.url,
      tradovateLive: tradovate.url,
      ibkrGateway: ibkr.url,
    },
    pacing: { alpaca: fast, tradovate: fast, ibkr: fast },
  });
});
afterAll(async () => {
  registry.close();
  await Promise.all([alpaca.close(), tradovate.close(), ibkr.close()]);
});

// [broker, connection, fake, symbol, the fake's order-placing path]
const CASES: Array<[string, () => ConnectionSpec, () => FakeAlpaca | FakeTradovate | FakeIbkr, string, string]> = [
  [
    'alpaca',
    () => ({
      id: 1,
      broker: 'alpaca',
      environment: 'paper',
      version: '1',
      credentials: { keyId: 'PKFAKEKEY0000000001', secretKey: 'fake-secret' },
    }),
    () => alpaca,
    'AAPL',
    '/v2/orders',
  ],
  [
    'tradovate',
    () => ({
      id: 2,
      broker: 'tradovate',
      environment: 'paper',
      version: '1',
      credentials: {
        name: 'fakeuser',
        password: 'fake-password',
        appId: 'Fillpath',
        appVersion: '1.0',
        cid: 8,
        sec: 'fake-sec',
      },
    }),
    () => tradovate,
    'MNQZ5',
    '/order/placeorder',
  ],
  [
    'ibkr',
    () => ({ id: 3, broker: 'ibkr', environment: 'paper', version: '1', credentials: { accountId: 'DU1234567' } }),
    () => ibkr,
    'AAPL',
    '/iserver/account/:accountId/orders',
  ],
];

describe.each(CASES)('%s: a submit whose answer was lost', (broker, spec, fake, symbol, placePath) => {
  it('is found by its client id on retry and never placed twice', async () => {
    const adapter = registry.forConnection(spec());
    const order: OrderRequest = {
      clientOrderId: `fp-${broker}-lost-1`,
      symbol,
      side: 'buy',
      quantity: '1',
      orderType: 'market',
      timeInForce: 'day',
    };
    fake().controls.dropNextResponse({ method: 'POST', path: placePath });
    const lost = await submitOnce(adapter, order, { isRetry: false }).catch((error: unknown) => error);
    expect(lost).toBeInstanceOf(BrokerUnavailable);

    const retried = await submitOnce(adapter, order, { isRetry: true });
    expect(retried.clientOrderId).toBe(order.clientOrderId);
    const again = await submitOnce(adapter, order, { isRetry: true });
    expect(again.brokerOrderId).toBe(retried.brokerOrderId);
    expect(fake().controls.ordersByClientId(order.clientOrderId)).toHaveLength(1);
  });
});
