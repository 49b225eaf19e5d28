/**
 * SPEC §13 R4: the broker answers 503 for 30 s while signals keep coming. The api runs in this process, the worker
 * as a child process (`node server/worker.ts`: its production breaker, pacing, retries and dead-letter wiring,
 * nothing shortened), Alpaca paper pointed at fake A and Alpaca live at fake B.
 *
 * - Connection A (paper, fake A): OUTAGE_MS of 503s on every request while a new strategy routed to A gets a buy
 *   every second, through the outage and a few seconds past it. The connection's breaker opens after a few failed
 *   calls, so the fake sees a handful of requests for many submit attempts; once it answers again, every one of
 *   those orders fills, each exactly once at the broker.
 * - Connection B (live, fake B): down for the whole test. Its order uses up the orders queue's six attempts
 *   (2+4+8+16+32 s of backoff: 62 s), then ends `failed`, with a dead letter and the trader told.
 *
 * Duration, ≈70 s: B's 62 s of retries set the floor, and the 30 s outage runs inside that window, so a shorter
 * one would save nothing. A's first orders need about as long: their fifth attempt (at 30 s) still meets the open
 * breaker (it half-opens 30 s after it opened), their sixth comes 32 s later.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerOrders } from '../../drizzle/schema/broker_orders.ts';
import { deadLetters } from '../../drizzle/schema/dead_letters.ts';
import { notifications } from '../../drizzle/schema/notifications.ts';
import { webhookLogs } from '../../drizzle/schema/webhook_logs.ts';
import { BrokerRegistry } from '../../server/brokers/registry.ts';
import { DEFAULT_BREAKER } from '../../server/brokers/resilience.ts';
import { ordersQueue } from '../../server/jobs/queues/orders.ts';
import { type FakeAlpaca, startFakeAlpaca } from '../fakes/alpaca.ts';
import { startTestApp, type TestApp, waitFor } from '../helpers/app.ts';
import { type SignedInUser, signUp } from '../helpers/client.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import { postAlert } from '../helpers/webhooks.ts';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.ts';

const OUTAGE_MS = 30_000;
const ALERT_EVERY_MS = 1_000;
const STREAM_MS = OUTAGE_MS + 5_000;
/** The fake's fault counts down once per request it answers; this one never runs out. */
const OUTAGE_BUDGET = 1_000_000;
const SYMBOL = 'AAPL';
/**
 * Requests fake A may see during the outage: the failed calls that open the breaker (at most its volumeThreshold,
 * fewer when successes before the outage are still in its window), a few already under way when it opened, and no
 * half-open trial (that comes 30 s after opening, when the outage is over).
 */
const REQUESTS_DURING_OUTAGE_MAX = DEFAULT_BREAKER.volumeThreshold + 5;
const BREAKER_OPEN = 'paused after repeated broker failures';
/** B's failure: the broker's 503, or the breaker its own failures opened. */
const UNAVAILABLE = /HTTP 503|paused after repeated broker failures/;
const ATTEMPTS = ordersQueue.defaultJobOptions.attempts;

interface Routed {
  strategyId: number;
  token: string;
}

interface Outcome {
  logsA: number[];
  logB: number;
  sawBreakerOpen: boolean;
  requestsDuringOutage: number;
  attemptsDuringOutage: number;
  doneAfterMs: number;
}

let fakeA: FakeAlpaca;
let fakeB: FakeAlpaca;
let registry: BrokerRegistry;
let app: TestApp;
let worker: WorkerProcess | undefined;
let trader: SignedInUser;
let connectionA: number;
let connectionB: number;
let outcome: Outcome;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const db = () => app.deps.database.db;

async function routedStrategy(connectionId: number, name: string, live = false): Promise<Routed> {
  const created = await trader.client.strategies.create.mutate({ name });
  rememberSecret(created.webhookToken);
  if (live) await trader.client.strategies.enableLive.mutate({ id: created.strategy.id, confirm: true });
  await trader.client.routing.create.mutate({ strategyId: created.strategy.id, brokerConnectionId: connectionId });
  return { strategyId: created.strategy.id, token: created.webhookToken };
}

async function buy(strategy: Routed, key: string): Promise<number> {
  const body = JSON.stringify({ ticker: SYMBOL, action: 'buy', quantity: 1, idempotencyKey: key });
  const answer = await postAlert(app.url, strategy.token, body);
  if (answer.status !== 202) throw new Error(`alert ${key} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body.id as number;
}

async function logStatuses(ids: number[]) {
  return db()
    .select({ id: webhookLogs.id, status: webhookLogs.status })
    .from(webhookLogs)
    .where(inArray(webhookLogs.id, ids));
}

async function setUp(): Promise<void> {
  [fakeA, fakeB] = await Promise.all([
    startFakeAlpaca({ prices: { [SYMBOL]: '100' } }),
    startFakeAlpaca({ prices: { [SYMBOL]: '100' } }),
  ]);
  rememberSecret('fake-secret');
  registry = new BrokerRegistry({
    urls: {
      alpacaPaper: fakeA.url,
      alpacaLive: fakeB.url,
      tradovateDemo: fakeA.url,
      tradovateLive: fakeA.url,
      ibkrGateway: fakeA.url,
    },
  });
  const high = { points: 10_000, durationS: 60 };
  app = await startTestApp({ brokers: registry, rateLimits: { write: high, read: high } });
  trader = await signUp(app.url);
  const connect = (environment: 'paper' | 'live') =>
    trader.client.brokers.connect.mutate({
      broker: 'alpaca',
      name: `R4 ${environment}`,
      environment,
      credentials: { keyId: 'PKFAKEKEY0000000001', secretKey: 'fake-secret' },
    });
  connectionA = (await connect('paper')).id;
  connectionB = (await connect('live')).id;
  worker = await startWorkerProcess({ ALPACA_PAPER_URL: fakeA.url, ALPACA_LIVE_URL: fakeB.url });
  await worker.ready();
}

/** The outage on A, B down throughout, a buy on a new A strategy every second; resolves once everything ended. */
async function runOutage(): Promise<Outcome> {
  // Before the outage the path works end to end.
  const warmUp = await buy(await routedStrategy(connectionA, 'R4 warm-up'), 'r4-warm-up');
  await waitFor(async () => (await logStatuses([warmUp]))[0]?.status === 'executed', 15_000, 50);
  const streamed: Routed[] = [];
  for (let i = 0; i < STREAM_MS / ALERT_EVERY_MS; i++) streamed.push(await routedStrategy(connectionA, `R4 A${i}`));
  const exhausted = await routedStrategy(connectionB, 'R4 B', true);

  fakeB.controls.failNext(OUTAGE_BUDGET, { status: 503 });
  fakeA.controls.failNext(OUTAGE_BUDGET, { status: 503 });
  const startedAt = Date.now();
  const logB = await buy(exhausted, 'r4-b');
  const logsA: number[] = [];
  let sawBreakerOpen = false;
  let requestsDuringOutage = -1;
  let attemptsDuringOutage = 0;
  for (const [i, strategy] of streamed.entries()) {
    logsA.push(await buy(strategy, `r4-a-${i}`));
    const rows = await db()
      .select({ lastError: brokerOrders.lastError, attempts: brokerOrders.attempts })
      .from(brokerOrders)
      .where(eq(brokerOrders.brokerConnectionId, connectionA));
    // A failed attempt leaves its reason on the row until the order goes through.
    sawBreakerOpen ||= rows.some((row) => row.lastError?.includes(BREAKER_OPEN));
    if (requestsDuringOutage < 0 && Date.now() - startedAt >= OUTAGE_MS) {
      // The outage ends: what reached fake A meanwhile, against what the worker attempted.
      requestsDuringOutage = OUTAGE_BUDGET - (fakeA.controls.listFaults()[0]?.count ?? OUTAGE_BUDGET);
      fakeA.controls.clearFaults();
      attemptsDuringOutage = rows.reduce((sum, row) => sum + row.attempts, 0);
    }
    await sleep(Math.max(0, startedAt + (i + 1) * ALERT_EVERY_MS - Date.now()));
  }

  await waitFor(
    async () => (await logStatuses([...logsA, logB])).every((row) => !['received', 'executing'].includes(row.status)),
    90_000,
    250,
  );
  await waitFor(async () => (await db().select().from(deadLetters)).length > 0, 15_000, 100);
  return {
    logsA,
    logB,
    sawBreakerOpen,
    requestsDuringOutage,
    attemptsDuringOutage,
    doneAfterMs: Date.now() - startedAt,
  };
}

beforeAll(async () => {
  await setUp();
  outcome = await runOutage();
  console.info(
    `R4: ${outcome.requestsDuringOutage} requests reached the broker during the ${OUTAGE_MS} ms outage for ` +
      `${outcome.attemptsDuringOutage} submit attempts; everything ended ${outcome.doneAfterMs} ms after it began`,
  );
}, 180_000);

afterAll(async () => {
  await worker?.kill();
  await app?.close();
  registry?.close();
  await Promise.all([fakeA?.close(), fakeB?.close()]);
});

describe('R4: the broker answers 503 for 30 s while signals keep coming', () => {
  it('opens the breaker, so the broker sees a handful of requests for many attempts', () => {
    expect(outcome.sawBreakerOpen).toBe(true);
    expect(outcome.requestsDuringOutage).toBeGreaterThan(0);
    expect(outcome.requestsDuringOutage).toBeLessThanOrEqual(REQUESTS_DURING_OUTAGE_MAX);
    expect(outcome.attemptsDuringOutage).toBeGreaterThan(3 * outcome.requestsDuringOutage);
  });

  it('fills every order of the outage once the broker answers again, each exactly once at the broker', async () => {
    const statuses = await logStatuses(outcome.logsA);
    expect(statuses.filter((row) => row.status !== 'executed')).toEqual([]);
    const orders = await db()
      .select()
      .from(brokerOrders)
      .where(and(eq(brokerOrders.brokerConnectionId, connectionA), inArray(brokerOrders.webhookLogId, outcome.logsA)));
    expect(orders).toHaveLength(outcome.logsA.length);
    for (const order of orders) {
      expect(order.status).toBe('filled');
      const atBroker = fakeA.controls.ordersByClientId(order.clientOrderId ?? '');
      expect(atBroker.map((o) => o.id)).toEqual([order.brokerOrderId]);
    }
    // The first of them waited for the recovery through several attempts.
    expect(Math.max(...orders.map((order) => order.attempts))).toBeGreaterThan(2);
  });

  it('ends the order whose attempts ran out failed, with a dead letter, and tells the trader', async () => {
    const [order] = await db().select().from(brokerOrders).where(eq(brokerOrders.webhookLogId, outcome.logB));
    expect(order).toMatchObject({ brokerConnectionId: connectionB, status: 'failed', attempts: ATTEMPTS });
    expect(order?.lastError).toMatch(/^broker-unavailable: /);
    expect(order?.lastError).toMatch(UNAVAILABLE);
    expect(fakeB.state.engine.orders).toEqual([]);
    expect((await logStatuses([outcome.logB]))[0]?.status).toBe('failed');

    const letters = await db().select().from(deadLetters);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      queue: 'orders',
      jobName: 'submit-order',
      userId: trader.id,
      payload: { orderId: order?.id },
      // The submit job's own attempts: the signal job made the order's first one itself.
      attempts: ATTEMPTS - 1,
      status: 'open',
    });
    expect(letters[0]?.error).toMatch(UNAVAILABLE);

    const told = await db()
      .select({ type: notifications.type, data: notifications.data })
      .from(notifications)
      .where(
        and(eq(notifications.userId, trader.id), inArray(notifications.type, ['order.failed', 'dead_letter.created'])),
      );
    expect(told.filter((n) => n.type === 'order.failed').map((n) => n.data?.orderId)).toEqual([order?.id]);
    expect(told.filter((n) => n.type === 'dead_letter.created')).toHaveLength(1);
  });
});
