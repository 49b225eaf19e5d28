/**
 * brokers.testConnection, brokers.getPositions and the session check, end to end: the API, the stored connection,
 * its decrypted credentials, the registry's guarded adapter and a fake broker.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLogs } from '../../drizzle/schema/audit_logs.ts';
import { brokerConnections } from '../../drizzle/schema/broker_connections.ts';
import { BrokerRegistry } from '../../server/brokers/registry.ts';
import { logger } from '../../server/lib/logger.ts';
import { checkConnectionSession } from '../../server/services/brokers/check-session.ts';
import { type FakeAlpaca, startFakeAlpaca } from '../fakes/alpaca.ts';
import { type FakeIbkr, startFakeIbkr } from '../fakes/ibkr.ts';
import { type FakeTradovate, startFakeTradovate } from '../fakes/tradovate.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type SignedInUser, signUp, trpcFailure } from '../helpers/client.ts';
import { rememberSecret } from '../helpers/secrets.ts';

let alpaca: FakeAlpaca;
let tradovate: FakeTradovate;
let ibkr: FakeIbkr;
let server: TestApp;
let trader: SignedInUser;

beforeAll(async () => {
  [alpaca, tradovate, ibkr] = await Promise.all([startFakeAlpaca(), startFakeTradovate(), startFakeIbkr()]);
  ibkr.controls.login();
  const brokers = new BrokerRegistry({
    urls: {
      alpacaPaper: alpaca.url,
      alpacaLive: alpaca.url,
      tradovateDemo: tradovate.url,
      tradovateLive: tradovate.url,
      ibkrGateway: ibkr.url,
    },
    breaker: { volumeThreshold: 50 },
  });
  server = await startTestApp({ brokers });
  trader = await signUp(server.url);
  rememberSecret('fake-secret', 'fake-password', 'wrong-secret-value');
});
afterAll(async () => {
  await server.close();
  await Promise.all([alpaca.close(), tradovate.close(), ibkr.close()]);
});

const db = () => server.deps.database.db;
const row = async (id: number) => (await db().select().from(brokerConnections).where(eq(brokerConnections.id, id)))[0];
const ALPACA_KEYS = { keyId: 'PKFAKEKEY0000000001', secretKey: 'fake-secret' };
let n = 0;
const connectAlpaca = (credentials = ALPACA_KEYS) =>
  trader.client.brokers.connect.mutate({ broker: 'alpaca', name: `Alpaca ${++n}`, environment: 'paper', credentials });

describe('brokers.testConnection', () => {
  it('answers the account summary and marks the connection connected, with an audit row', async () => {
    const connection = await connectAlpaca();
    const result = await trader.client.brokers.testConnection.mutate({ id: connection.id });
    expect(result.status).toBe('connected');
    expect(result.account).toMatchObject({ currency: 'USD', tradingBlocked: false });
    expect(result.account.equity).toMatch(/^\d+(\.\d+)?$/);
    expect(await row(connection.id)).toMatchObject({ status: 'connected', statusMessage: null });
    expect((await row(connection.id))?.accountId).toBe(result.account.accountId);
    const audit = await db()
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.resourceType, 'broker_connection'), eq(auditLogs.resourceId, String(connection.id))));
    expect(audit.map((entry) => entry.action)).toContain('broker_connection.test');
  });

  it('reports refused keys as an expired session with the broker reason, and stores it', async () => {
    const connection = await connectAlpaca({ keyId: 'PKFAKEKEY0000000001', secretKey: 'wrong-secret-value' });
    const error = await trpcFailure(() => trader.client.brokers.testConnection.mutate({ id: connection.id }));
    expect(error.data?.appCode).toBe('broker-session-expired');
    expect(error.message).toMatch(/Alpaca rejected the API keys/);
    expect(error.message).not.toContain('wrong-secret-value');
    expect(await row(connection.id)).toMatchObject({ status: 'expired' });
    expect((await row(connection.id))?.statusMessage).toMatch(/Alpaca rejected the API keys/);
  });

  it('reports an unreachable broker as broker-unavailable and marks the connection in error', async () => {
    const connection = await connectAlpaca();
    alpaca.controls.failNext(1, { status: 503, path: '/v2/account' });
    const error = await trpcFailure(() => trader.client.brokers.testConnection.mutate({ id: connection.id }));
    expect(error.data?.appCode).toBe('broker-unavailable');
    expect(await row(connection.id)).toMatchObject({ status: 'error' });
  });

  it('tests Tradovate and IBKR connections through their own adapters', async () => {
    const tv = await trader.client.brokers.connect.mutate({
      broker: 'tradovate',
      name: 'Tradovate demo',
      environment: 'paper',
      credentials: {
        name: 'fakeuser',
        password: 'fake-password',
        appId: 'Fillpath',
        appVersion: '1.0',
        cid: 8,
        sec: 'fake-sec',
      },
    });
    const ib = await trader.client.brokers.connect.mutate({
      broker: 'ibkr',
      name: 'IBKR paper',
      environment: 'paper',
      credentials: { accountId: 'DU1234567' },
    });
    await expect(trader.client.brokers.testConnection.mutate({ id: tv.id })).resolves.toMatchObject({
      status: 'connected',
    });
    await expect(trader.client.brokers.testConnection.mutate({ id: ib.id })).resolves.toMatchObject({
      status: 'connected',
      account: { accountId: 'DU1234567' },
    });
  });
});

describe('brokers.getPositions', () => {
  it("answers the broker's live positions, signed, and refuses another user's connection", async () => {
    const connection = await connectAlpaca();
    // Trade at the fake directly, as another app of the trader would: positions come from the broker, not from us.
    const key = { 'APCA-API-KEY-ID': ALPACA_KEYS.keyId, 'APCA-API-SECRET-KEY': ALPACA_KEYS.secretKey };
    for (const [symbol, side] of [
      ['AAPL', 'buy'],
      ['TSLA', 'sell'],
    ]) {
      const placed = await fetch(`${alpaca.url}/v2/orders`, {
        method: 'POST',
        headers: { ...key, 'content-type': 'application/json' },
        body: JSON.stringify({
          symbol,
          qty: '3',
          side,
          type: 'market',
          time_in_force: 'day',
          client_order_id: `ext-${symbol}`,
        }),
      });
      expect(placed.status).toBe(200);
    }
    const positions = await trader.client.brokers.getPositions.query({ connectionId: connection.id });
    const bySymbol = Object.fromEntries(positions.map((p) => [p.symbol, p.quantity]));
    expect(bySymbol).toMatchObject({ AAPL: '3', TSLA: '-3' });

    const intruder = await signUp(server.url, 'Intruder');
    const error = await trpcFailure(() => intruder.client.brokers.getPositions.query({ connectionId: connection.id }));
    expect(error.data?.code).toBe('NOT_FOUND');
  });
});

describe('session upkeep', () => {
  it('marks a connection expired when the IBKR gateway session is lost, and connected again when it is back', async () => {
    const ib = await trader.client.brokers.connect.mutate({
      broker: 'ibkr',
      name: 'IBKR upkeep',
      environment: 'paper',
      credentials: { accountId: 'DU1234567' },
    });
    const ctx = {
      db: db(),
      log: logger,
      requestId: 'job:sessions-test',
      actor: { type: 'system' as const, job: 'sessions' },
    };
    expect(await checkConnectionSession(ctx, server.deps.brokers, ib.id, { renew: true })).toMatchObject({
      status: 'connected',
    });

    ibkr.controls.expireSession();
    const lost = await checkConnectionSession(ctx, server.deps.brokers, ib.id, { renew: false });
    expect(lost).toMatchObject({ status: 'expired', changed: true });
    expect(await row(ib.id)).toMatchObject({ status: 'expired' });
    // A second check while still expired is not a new event: the trader is notified once.
    expect(await checkConnectionSession(ctx, server.deps.brokers, ib.id, { renew: false })).toMatchObject({
      changed: false,
    });

    ibkr.controls.login();
    expect(await checkConnectionSession(ctx, server.deps.brokers, ib.id, { renew: true })).toMatchObject({
      status: 'connected',
      changed: true,
    });
    expect(await row(ib.id)).toMatchObject({ status: 'connected', statusMessage: null });
  });
});
