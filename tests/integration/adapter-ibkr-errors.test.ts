/**
 * The IBKR gateway adapter when things go wrong: each error of BROKERS.md §3.7 mapped to its typed error, the
 * duplicate-cOID answer and a dropped response (idempotency, §3.10), an aborted hung call, the 1-per-5-s pacing
 * bucket of live orders, and the self-signed TLS exception for a loopback gateway.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { BrokerAuthExpired, BrokerRejected, BrokerUnavailable } from '../../server/brokers/errors.ts';
import { createIbkrAdapter, IBKR_PACING } from '../../server/brokers/ibkr/adapter.ts';
import { gatewayDispatcher } from '../../server/brokers/ibkr/gateway.ts';
import { createPacer, noPacing, type Pacer } from '../../server/brokers/pacing.ts';
import type { BrokerAdapter, OrderRequest } from '../../server/brokers/types.ts';
import { type FakeIbkr, startFakeIbkr } from '../fakes/ibkr.ts';

const ACCT = 'DU1234567';
const ORDERS_PATH = '/iserver/account/:accountId/orders';
const fake: FakeIbkr = await startFakeIbkr({ authenticated: true });
afterAll(() => fake.close());

const build = (pacer: Pacer = noPacing, baseUrl = fake.url, allowSelfSignedTls?: boolean): BrokerAdapter =>
  createIbkrAdapter({
    baseUrl,
    environment: 'paper',
    credentials: { accountId: ACCT },
    pacer,
    ...(allowSelfSignedTls === undefined ? {} : { allowSelfSignedTls }),
  });
let adapter: BrokerAdapter;
let seq = 0;
beforeEach(() => {
  fake.controls.reset();
  adapter = build();
});

const order = (extra: Partial<OrderRequest> = {}): OrderRequest => ({
  clientOrderId: `fp-err-${++seq}`,
  symbol: 'AAPL',
  side: 'buy',
  quantity: '10',
  orderType: 'market',
  timeInForce: 'day',
  ...extra,
});
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error as Error,
  );

describe('IBKR adapter: idempotency by cOID', () => {
  it('answers a duplicate cOID with the existing order (HTTP 200 or 400), and the fake holds one', async () => {
    const request = order({ orderType: 'limit', limitPrice: '100' });
    const placed = await adapter.submitOrder(request);
    const again = await adapter.submitOrder(request);
    expect(again).toMatchObject({ brokerOrderId: placed.brokerOrderId, clientOrderId: request.clientOrderId });
    expect(again.status).toBe('accepted');
    fake.controls.configure({ orderErrorStatus: 400 });
    expect((await adapter.submitOrder(request)).brokerOrderId).toBe(placed.brokerOrderId);
    expect(fake.controls.ordersByClientId(request.clientOrderId)).toHaveLength(1);
  });

  it('survives a dropped response: BrokerUnavailable, then found by cOID, and a resubmit returns the same order', async () => {
    const request = order();
    fake.controls.dropNextResponse({ method: 'POST', path: ORDERS_PATH });
    expect(await failure(adapter.submitOrder(request))).toBeInstanceOf(BrokerUnavailable);
    expect(fake.controls.ordersByClientId(request.clientOrderId)).toHaveLength(1);
    const found = await adapter.getOrderByClientId(request.clientOrderId);
    expect(found).toMatchObject({ clientOrderId: request.clientOrderId, status: 'filled', filledQty: '10' });
    const resubmitted = await adapter.submitOrder(request);
    expect(resubmitted.brokerOrderId).toBe(found?.brokerOrderId);
    expect(fake.controls.ordersByClientId(request.clientOrderId)).toHaveLength(1);
  });

  it('sends one order at a time: the next waits until the previous one is acknowledged (§3.4)', async () => {
    await adapter.submitOrder(order()); // conid cached, session prepared: both go straight to the POST
    fake.controls.delayNext(150, { method: 'POST', path: ORDERS_PATH, process: false });
    const [first, second] = await Promise.all([adapter.submitOrder(order()), adapter.submitOrder(order())]);
    expect(Number(first.brokerOrderId)).toBeLessThan(Number(second.brokerOrderId));
  });

  it('finds an order of an earlier gateway session through its executions (trades, by order_ref)', async () => {
    const request = order({ quantity: '3' });
    await adapter.submitOrder(request);
    fake.controls.login(); // a new session: live orders no longer list it
    const again = await adapter.submitOrder(request);
    expect(again).toMatchObject({ clientOrderId: request.clientOrderId, status: 'filled', filledQty: '3' });
    expect(again.fills).toHaveLength(1);
    expect(await adapter.getOrder(again.brokerOrderId)).toMatchObject({ status: 'filled', avgFillPrice: '150' });
    expect(fake.controls.ordersByClientId(request.clientOrderId)).toHaveLength(1);
  });
});

describe('IBKR adapter: §3.7 errors', () => {
  it('401 (empty body) → BrokerAuthExpired on every endpoint; checkSession answers ok:false', async () => {
    for (const call of [() => adapter.submitOrder(order()), () => adapter.getPositions(), () => adapter.getAccount()]) {
      fake.controls.failNext(1, { status: 401, text: '' });
      const error = await failure(call());
      expect(error).toBeInstanceOf(BrokerAuthExpired);
      expect(error?.message).toBe('IBKR gateway session expired: log in to the gateway again');
    }
    fake.controls.failNext(1, { path: '/iserver/auth/status', status: 401, text: '' });
    expect(await adapter.checkSession()).toMatchObject({ ok: false, reason: expect.stringMatching(/log in/) });
  });

  it('400 "Init session first" → the brokerage session is restored and the call repeated once; then BrokerUnavailable', async () => {
    const body = { error: 'Init session first', statusCode: 400 };
    fake.controls.failNext(1, { method: 'POST', path: ORDERS_PATH, status: 400, body });
    expect((await adapter.submitOrder(order())).status).toBe('accepted');
    fake.controls.failNext(2, { method: 'POST', path: ORDERS_PATH, status: 400, body });
    const error = await failure(adapter.submitOrder(order()));
    expect(error).toBeInstanceOf(BrokerUnavailable);
    expect(error?.message).toMatch(/brokerage session is not started \(Init session first\)/);
  });

  it('{"error"} on submit, in HTTP 200 or 400 → BrokerRejected with the broker reason', async () => {
    fake.controls.rejectNextOrder({ error: 'Order rejected - reason: contract not tradable', status: 200 });
    const inOk = await failure(adapter.submitOrder(order()));
    expect(inOk).toBeInstanceOf(BrokerRejected);
    expect(inOk?.message).toBe('IBKR rejected the order: Order rejected - reason: contract not tradable');
    fake.controls.rejectNextOrder({ error: 'Order rejected - reason: market closed', status: 400 });
    expect((await failure(adapter.submitOrder(order())))?.message).toMatch(/market closed/);
    const margin = await failure(adapter.submitOrder(order({ quantity: '100000' })));
    expect(margin).toBeInstanceOf(BrokerRejected);
    expect(margin?.message).toMatch(/EQUITY WITH LOAN VALUE .* MUST EXCEED THE INITIAL MARGIN/);
  });

  it('{"error"} on cancel (400) → BrokerRejected', async () => {
    const filled = await adapter.submitOrder(order());
    const error = await failure(adapter.cancelOrder(filled.brokerOrderId));
    expect(error).toBeInstanceOf(BrokerRejected);
    expect(error?.message).toMatch(/cannot be cancelled: Filled/);
  });

  it('429 → BrokerUnavailable with the 10-minute penalty box as retryAfterMs', async () => {
    fake.controls.rateLimitNext(1);
    const error = await failure(adapter.getOpenOrders());
    expect(error).toBeInstanceOf(BrokerUnavailable);
    expect((error as BrokerUnavailable).retryAfterMs).toBe(600_000);
    expect(error?.message).toMatch(/pacing limit/);
  });

  it('500 and 503 → BrokerUnavailable', async () => {
    for (const status of [500, 503]) {
      fake.controls.failNext(1, { status });
      const error = await failure(adapter.getAccount());
      expect(error).toBeInstanceOf(BrokerUnavailable);
      expect(error?.message).toContain(`HTTP ${status}`);
    }
  });

  it('aborts a hung call promptly with BrokerUnavailable', async () => {
    await adapter.checkSession();
    fake.controls.hangNext({ method: 'POST', path: ORDERS_PATH });
    const started = Date.now();
    const error = await failure(adapter.submitOrder(order(), { signal: AbortSignal.timeout(200) }));
    expect(error).toBeInstanceOf(BrokerUnavailable);
    expect(error?.message).toMatch(/timed out/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('IBKR adapter: pacing and TLS', () => {
  it('spaces the two live-orders reads of a new session by the 1-per-5-s orders bucket', async () => {
    const paced = build(createPacer('ibkr-test', IBKR_PACING));
    await paced.checkSession();
    const started = Date.now();
    expect(await paced.getOpenOrders()).toEqual([]);
    expect(fake.state.session.liveOrdersCalls).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4_900);
  }, 15_000);

  it('accepts a self-signed certificate for a loopback gateway only when allowed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ibkr-tls-'));
    try {
      execFileSync(
        'openssl',
        [
          ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'],
          ...['-subj', '/CN=localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
        ],
        { stdio: 'ignore' },
      );
      const tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
      const secure = await startFakeIbkr({ authenticated: true, tls });
      try {
        expect(secure.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
        expect(await build(noPacing, secure.url, true).checkSession()).toEqual({ ok: true, expiresAt: null });
        expect(await failure(build(noPacing, secure.url).checkSession())).toBeInstanceOf(BrokerUnavailable);
      } finally {
        await secure.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(gatewayDispatcher('https://api.ibkr.com/v1/api', true)).toBeUndefined();
    expect(gatewayDispatcher('https://localhost:5000/v1/api', false)).toBeUndefined();
    expect(gatewayDispatcher('https://localhost:5000/v1/api', true)).toBeDefined();
  });
});
