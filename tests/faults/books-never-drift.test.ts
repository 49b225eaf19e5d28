/**
 * The books never drift (SPEC §5, §7, §13): a seeded, reproducible session of randomized alerts — entries, adds,
 * partial exits (by quantity and percent_of_position), full exits, targets, reversals, limit entries, cancels,
 * re-deliveries of the same body — over strategies on several Alpaca accounts (AAPL, MSFT) and Tradovate accounts
 * (MNQ1! → MNQZ5 × 2, MES1! → MESZ5 × 5), while the fakes' prices move and their fills switch between immediate,
 * delayed and partial, and the worker (a child process, as in R1) is SIGKILLed now and then and restarted.
 *
 * Once everything settled, whatever the interleaving was: every alert was accepted once and every re-delivery
 * answered as its duplicate; every log and order is final; no client order id reached a broker twice and every
 * broker order is one local order filled alike; the fills Fillpath recorded are the broker's (Tradovate execution by
 * execution; Alpaca, which reports running totals only, order by order); every (connection, symbol) position is
 * the broker account's, and every (strategy, connection, symbol) position and trade — realized P&L to 1e-8 — is
 * what an independent average-cost book (tests/helpers/average-cost.ts) makes of its fills. Then every connection
 * reconciles clean, and a position changed at the broker behind Fillpath's back is reported by the next run, on
 * exactly that symbol.
 *
 * Reproduce with BOOKS_SEED (default below) and BOOKS_SIGNALS; BOOKS_KILLS sets the number of kills and
 * BOOKS_WORKER_LOG a file that keeps the worker's log. The seed fixes the alerts, their order per strategy and across
 * the session, the price moves and the fill switches; the timing of fills and kills varies, and every assertion
 * holds for any interleaving. Kills fall in the first 40 s; what they cut short comes back through BullMQ's stalled
 * check and the order outbox sweep (RECOVERY_MS; the worker's configuration is not shortened), so a run takes about
 * 3 minutes on the 2-core machine (2,400 alerts at 20 a second end about when recovery is due).
 */
import { Big } from 'big.js';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerOrders } from '../../drizzle/schema/broker_orders.ts';
import { fills } from '../../drizzle/schema/fills.ts';
import { openPositions } from '../../drizzle/schema/open_positions.ts';
import { trades } from '../../drizzle/schema/trades.ts';
import { webhookLogs } from '../../drizzle/schema/webhook_logs.ts';
import { BrokerRegistry } from '../../server/brokers/registry.ts';
import { TERMINAL_ORDER_STATUSES, type WebhookLogStatus } from '../../shared/enums.ts';
import { orderJobId, signalJobId } from '../../shared/jobs.ts';
import { type FakeAlpaca, startFakeAlpaca } from '../fakes/alpaca.ts';
import type { EngineFill, EngineOrder } from '../fakes/common/engine.ts';
import { httpClient } from '../fakes/testing.ts';
import { type FakeTradovate, startFakeTradovate } from '../fakes/tradovate.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { AverageCostBook, type BookTrade, tradePnl } from '../helpers/average-cost.ts';
import {
  buildScenario,
  INSTRUMENTS,
  type Scenario,
  type ScenarioBroker,
  type ScenarioEvent,
  type ScenarioStrategy,
} from '../helpers/books-scenario.ts';
import { type SignedInUser, signUp } from '../helpers/client.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import { WEBHOOK_PATH } from '../helpers/webhooks.ts';
import { killRepeatedly, startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.ts';

const envInt = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a whole number, got ${value}`);
  return value;
};
const SEED = envInt('BOOKS_SEED', 20_250_611);
const SIGNALS = envInt('BOOKS_SIGNALS', 2_400);
const KILLS = envInt('BOOKS_KILLS', 4);
/**
 * Enough accounts that no connection comes near its pacing budget (per connection: Alpaca 200 calls a minute,
 * about 3 an order; Tradovate 80, about 10 an order with its status reads), so the session is about the books, not
 * rate limits: at 20 alerts a second, each Alpaca connection uses about half its budget and each Tradovate one a
 * third to a half of its own.
 */
const LAYOUT = { alpacaConnections: 24, tradovateConnections: 16, tradovateWeight: 0.15 };
const ALERTS_PER_SECOND = 20;
/**
 * After the last kill: a stalled order job is back within lock (60 s) + two stalled checks (30 s); an order whose
 * submission a kill cut short inside a signal job is left `submitting` until the order outbox sweep takes it up
 * (120 s after its claim, swept every 10 s). Plus slack.
 */
const RECOVERY_MS = 135_000;
/** No change for this long means nothing else is coming: longer than a broker's breaker pause (30 s) and a poll. */
const QUIET_MS = 45_000;
const SETTLE_LIMIT_MS = 240_000;
const HIGH = { points: 1_000_000, durationS: 60 };
const OPEN_LOG_STATUSES: WebhookLogStatus[] = ['received', 'executing', 'staged'];
const TERMINAL_ORDER = new Set<string>(TERMINAL_ORDER_STATUSES);
/** How an order that never got a broker id may end. */
const UNSENT_ENDS = new Set<string>(['cancelled', 'rejected', 'failed']);
/** Column precision: exact books agree to the last of the 8 decimals. */
const CENT_OF_A_CENT = new Big('1e-8');

interface Connection {
  broker: ScenarioBroker;
  index: number;
  id: number;
  trader: SignedInUser;
  /** The account at the fake: Alpaca's account id, Tradovate's numeric account id as text. */
  account: string;
  /** Alpaca key id and secret, or the Tradovate user name and account name. */
  login: { keyId: string; secret: string } | { user: string; accountSpec: string };
}

interface Routed {
  strategy: ScenarioStrategy;
  strategyId: number;
  token: string;
  connection: Connection;
}

interface Answer {
  event: Extract<ScenarioEvent, { kind: 'alert' }>;
  status: number;
  body: { id?: number; status?: string; duplicateOf?: number; code?: string };
  /** 503s answered before this one (a database slower than the route's 3 s deadline), each sent again. */
  retried: number;
}

type OrderRow = typeof brokerOrders.$inferSelect;
type FakeOrder = EngineOrder<unknown>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pad = (n: number) => String(n).padStart(3, '0');

let alpaca: FakeAlpaca;
let tradovate: FakeTradovate;
let registry: BrokerRegistry;
let app: TestApp;
let connections: Connection[];
let routed: Routed[];
let worker: WorkerProcess | undefined;
let workerEnv: Record<string, string>;
let scenario: Scenario;
let answers: Answer[];
let lastKillAt = 0;

const db = () => app.deps.database.db;
const fakeOf = (broker: ScenarioBroker) => (broker === 'alpaca' ? alpaca : tradovate);
const multiplierOf = (broker: ScenarioBroker, symbol: string) =>
  broker === 'alpaca' ? '1' : (tradovate.state.contracts.find((c) => c.name === symbol)?.multiplier ?? '1');

/** Runs `task` over `items` with at most `lanes` in flight. */
async function pooled<T>(items: T[], lanes: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await task(items[next++] as T);
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}

async function setUp(): Promise<void> {
  const alpacaLogins = Array.from({ length: LAYOUT.alpacaConnections }, (_, i) => ({
    keyId: `PKBOOKSDRIFT0000${pad(i)}`,
    secret: `books-alpaca-secret-${pad(i)}`,
    cash: '1000000000',
  }));
  const tradovateUsers = Array.from({ length: LAYOUT.tradovateConnections }, (_, i) => ({
    name: `books${pad(i)}`,
    password: `books-password-${pad(i)}`,
    cid: 8,
    sec: `books-sec-${pad(i)}`,
    accounts: [{ id: 710_001 + i, name: `BOOKS${710_001 + i}`, cash: '1000000000' }],
  }));
  rememberSecret(...alpacaLogins.map((a) => a.secret), ...tradovateUsers.flatMap((u) => [u.password, u.sec]));
  const prices = (broker: ScenarioBroker) =>
    Object.fromEntries(INSTRUMENTS.filter((i) => i.broker === broker).map((i) => [i.brokerSymbol, i.start]));
  alpaca = await startFakeAlpaca({ accounts: alpacaLogins, prices: prices('alpaca') });
  tradovate = await startFakeTradovate({ users: tradovateUsers });
  for (const [symbol, price] of Object.entries(prices('tradovate'))) tradovate.controls.setPrice(symbol, price);
  const urls = {
    alpacaPaper: alpaca.url,
    alpacaLive: alpaca.url,
    tradovateDemo: tradovate.url,
    tradovateLive: tradovate.url,
    ibkrGateway: alpaca.url,
  };
  registry = new BrokerRegistry({ urls });
  app = await startTestApp({
    brokers: registry,
    rateLimits: { read: HIGH, write: HIGH, broker: HIGH, globalPerIp: HIGH },
  });

  const plan = [
    ...alpacaLogins.map((login, index) => ({ broker: 'alpaca' as const, index, login })),
    ...tradovateUsers.map((user, index) => ({ broker: 'tradovate' as const, index, user })),
  ];
  connections = [];
  await pooled(plan, 4, async (item) => {
    const trader = await signUp(app.url);
    if (item.broker === 'alpaca') {
      const { keyId, secret } = item.login;
      const created = await trader.client.brokers.connect.mutate({
        broker: 'alpaca',
        name: `Books Alpaca ${item.index}`,
        environment: 'paper',
        credentials: { keyId, secretKey: secret },
      });
      const account = alpaca.state.accounts.find((a) => a.keyId === keyId)?.id as string;
      connections.push({
        broker: 'alpaca',
        index: item.index,
        id: created.id,
        trader,
        account,
        login: { keyId, secret },
      });
    } else {
      const { user } = item;
      const created = await trader.client.brokers.connect.mutate({
        broker: 'tradovate',
        name: `Books Tradovate ${item.index}`,
        environment: 'paper',
        credentials: {
          name: user.name,
          password: user.password,
          appId: 'Fillpath',
          appVersion: '1.0',
          cid: 8,
          sec: user.sec,
        },
      });
      const own = user.accounts[0] as { id: number; name: string };
      const login = { user: user.name, accountSpec: own.name };
      connections.push({
        broker: 'tradovate',
        index: item.index,
        id: created.id,
        trader,
        account: String(own.id),
        login,
      });
    }
  });

  scenario = buildScenario(SEED, SIGNALS, LAYOUT);
  routed = [];
  await pooled(scenario.strategies, 4, async (strategy) => {
    const connection = connections.find((c) => c.broker === strategy.broker && c.index === strategy.connection);
    if (!connection) throw new Error(`no connection for strategy ${strategy.index}`);
    const { client } = connection.trader;
    const { profile } = strategy;
    const created = await client.strategies.create.mutate({
      name: `Books ${strategy.index} ${profile.name}`,
      allowShort: profile.allowShort,
      allowReverse: profile.allowReverse,
      maxPositionQty: profile.maxPositionQty,
      ratePerMinute: 600,
      ratePerHour: 10_000,
    });
    rememberSecret(created.webhookToken);
    const symbolMap = Object.fromEntries(strategy.instruments.map((i) => [i.ticker, i.brokerSymbol]));
    await client.routing.create.mutate({
      strategyId: created.strategy.id,
      brokerConnectionId: connection.id,
      quantityMultiplier: profile.quantityMultiplier,
      ...(strategy.broker === 'tradovate' ? { symbolMap } : {}),
    });
    routed[strategy.index] = { strategy, strategyId: created.strategy.id, token: created.webhookToken, connection };
  });

  workerEnv = {
    ALPACA_PAPER_URL: alpaca.url,
    ALPACA_LIVE_URL: alpaca.url,
    TRADOVATE_DEMO_URL: tradovate.url,
    TRADOVATE_LIVE_URL: tradovate.url,
    // Info, not the suite's debug: every job's debug lines, written synchronously, would slow the worker down.
    LOG_LEVEL: 'info',
    // The suite's log file is removed after the run; BOOKS_WORKER_LOG keeps the worker's for a failure's story.
    ...(process.env.BOOKS_WORKER_LOG ? { LOG_FILE: process.env.BOOKS_WORKER_LOG } : {}),
  };
  worker = await startWorkerProcess(workerEnv);
  await worker.ready();
}

/**
 * Posts an alert; a 503 (the route answers one rather than make TradingView wait past 3 s, which a loaded 2-core
 * machine can cause) is sent again a second later, up to 10 times, as a sender retrying would: the first attempt
 * may still have been logged, and then the retry is its duplicate.
 */
async function post(event: Extract<ScenarioEvent, { kind: 'alert' }>): Promise<Answer> {
  const target = routed[event.strategy] as Routed;
  let answer: Answer = { event, status: 0, body: {}, retried: 0 };
  for (let attempt = 0; attempt <= 10 && (attempt === 0 || answer.status === 503); attempt++) {
    if (attempt > 0) await sleep(1_000);
    try {
      const response = await app.app.inject({
        method: 'POST',
        url: `${WEBHOOK_PATH}${target.token}`,
        headers: { 'content-type': 'application/json' },
        payload: event.body,
      });
      answer = { event, status: response.statusCode, body: response.json(), retried: attempt };
    } catch (error) {
      answer = {
        event,
        status: 0,
        body: { code: error instanceof Error ? error.message : String(error) },
        retried: attempt,
      };
    }
  }
  return answer;
}

/**
 * Plays the events in order at ALERTS_PER_SECOND: prices and fill modes change at their place in the sequence;
 * each strategy's alerts go out one after the other on its own lane (a re-delivery after the alert it repeats),
 * while different strategies' alerts overlap.
 */
async function play(events: ScenarioEvent[], perSecond: number): Promise<Answer[]> {
  const lanes = new Map<number, Promise<void>>();
  const played: Answer[] = [];
  const startedAt = Date.now();
  let alerts = 0;
  for (const event of events) {
    if (event.kind === 'price') fakeOf(event.broker).controls.setPrice(event.symbol, event.price);
    else if (event.kind === 'fills') fakeOf(event.broker).controls.configureFills(event.config);
    else {
      const wait = startedAt + (alerts++ * 1000) / perSecond - Date.now();
      if (wait > 0) await sleep(wait);
      const lane = (lanes.get(event.strategy) ?? Promise.resolve()).then(async () => {
        played.push(await post(event));
      });
      lanes.set(event.strategy, lane);
    }
  }
  await Promise.all(lanes.values());
  return played;
}

/**
 * What is still on its way: logs not planned yet, orders being sent, and orders waiting to be sent that may go now
 * (no parent, or a parent that ended) — not a reversal's opening leg whose closing leg still works.
 */
async function inFlight(): Promise<string> {
  const [received] = await db()
    .select({ id: webhookLogs.id })
    .from(webhookLogs)
    .where(eq(webhookLogs.status, 'received'))
    .limit(1);
  const unsent = await db()
    .select({ id: brokerOrders.id, status: brokerOrders.status, parentOrderId: brokerOrders.parentOrderId })
    .from(brokerOrders)
    .where(inArray(brokerOrders.status, ['pending', 'submitting']));
  const parents = unsent.flatMap((o) => (o.parentOrderId === null ? [] : [o.parentOrderId]));
  const parentStatus = new Map(
    parents.length === 0
      ? []
      : (
          await db()
            .select({ id: brokerOrders.id, status: brokerOrders.status })
            .from(brokerOrders)
            .where(inArray(brokerOrders.id, parents))
        ).map((p) => [p.id, p.status]),
  );
  const submitting = unsent.filter((o) => o.status === 'submitting').length;
  const pending = unsent.filter(
    (o) =>
      o.status === 'pending' &&
      (o.parentOrderId === null || TERMINAL_ORDER.has(parentStatus.get(o.parentOrderId) ?? 'cancelled')),
  ).length;
  return [
    received ? 'logs received' : '',
    submitting ? `${submitting} submitting` : '',
    pending ? `${pending} pending` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/** Logs and orders not final yet ('' once everything settled). */
async function unsettled(): Promise<string> {
  const logs = await db()
    .select({ id: webhookLogs.id })
    .from(webhookLogs)
    .where(inArray(webhookLogs.status, OPEN_LOG_STATUSES));
  const orders = (await db().select({ status: brokerOrders.status }).from(brokerOrders)).filter(
    (o) => !TERMINAL_ORDER.has(o.status),
  );
  return [logs.length ? `${logs.length} logs open` : '', orders.length ? `${orders.length} orders working` : '']
    .filter(Boolean)
    .join(', ');
}

/**
 * Waits until `probe` answers '' — or, once recovery from the last kill is due, until it has not changed for
 * QUIET_MS, or SETTLE_LIMIT_MS: a stuck log then fails an assertion instead of a timeout.
 */
async function waitUntilClear(probe: () => Promise<string>): Promise<string> {
  const deadline = Date.now() + SETTLE_LIMIT_MS;
  let last = '';
  let changedAt = Date.now();
  while (Date.now() < deadline) {
    const current = worker as WorkerProcess;
    if (!current.alive()) throw new Error(`the worker died on its own:\n${current.output()}`);
    const now = await probe();
    if (now === '') return now;
    if (now !== last) {
      last = now;
      changedAt = Date.now();
    } else if (Date.now() > lastKillAt + RECOVERY_MS && Date.now() - changedAt > QUIET_MS) {
      return now;
    }
    await sleep(500);
  }
  return last;
}

beforeAll(async () => {
  const setUpAt = Date.now();
  await setUp();
  console.info(
    `books: seed ${SEED}, ${SIGNALS} signals (+${scenario.redeliveries} re-deliveries, +${scenario.closing.length} closing cancels) ` +
      `over ${scenario.strategies.length} strategies on ${connections.length} connections, ${KILLS} kills; ` +
      `reproduce with BOOKS_SEED=${SEED} BOOKS_SIGNALS=${SIGNALS}`,
  );
  const startedAt = Date.now();
  const playing = play(scenario.events, ALERTS_PER_SECOND);
  // The worker is SIGKILLed 4–8 s into each of KILLS lives (spread by the seed) and restarted each time.
  const lives = await killRepeatedly({
    first: worker as WorkerProcess,
    env: workerEnv,
    kills: KILLS,
    lifeMs: (kill) => 4_000 + ((SEED + kill * 2_731) % 4_000),
    onRestart: (next) => {
      worker = next;
    },
    onKill: () => {
      lastKillAt = Date.now();
    },
  });
  answers = await playing;
  const playedMs = Date.now() - startedAt;
  const stillInFlight = await waitUntilClear(inFlight);
  // The session is over: what still works at the brokers fills, resting limits are cancelled by the closing alerts.
  alpaca.controls.configureFills({ mode: 'immediate', steps: 1 });
  tradovate.controls.configureFills({ mode: 'immediate', steps: 1 });
  answers.push(...(await play(scenario.closing, ALERTS_PER_SECOND)));
  const open = await waitUntilClear(unsettled);
  const outcomes = await db()
    .select({ status: brokerOrders.status, reason: brokerOrders.lastError })
    .from(brokerOrders);
  const tally = new Map<string, number>();
  for (const o of outcomes) {
    const reason = o.reason?.replace(/\(requested.*/, '').slice(0, 80);
    const label = o.status === 'filled' ? 'filled' : `${o.status}${reason ? ` (${reason.trim()})` : ''}`;
    tally.set(label, (tally.get(label) ?? 0) + 1);
  }
  console.info(`books: ${outcomes.length} orders: ${[...tally].map(([label, n]) => `${n} ${label}`).join('; ')}`);
  console.info(
    `books: set up in ${startedAt - setUpAt} ms; played in ${playedMs} ms with kills after ${lives.join('/')} ms of each life; ` +
      `settled after ${Date.now() - startedAt} ms (in flight before closing: ${stillInFlight || 'nothing'}; open: ${open || 'nothing'}); ` +
      `${answers.filter((a) => a.retried > 0).length} alert(s) sent again after a 503`,
  );
}, 480_000);

afterAll(async () => {
  await worker?.kill();
  await app?.close();
  registry?.close();
  await alpaca?.close();
  await tradovate?.close();
});

/** Everything the assertions compare, read once. */
async function books() {
  const orders = await db().select().from(brokerOrders).orderBy(brokerOrders.id);
  const fillRows = await db()
    .select({
      id: fills.id,
      orderId: fills.brokerOrderId,
      brokerFillId: fills.brokerFillId,
      quantity: fills.quantity,
      price: fills.price,
      commission: fills.commission,
    })
    .from(fills)
    .orderBy(fills.id);
  const positions = await db().select().from(openPositions);
  const tradeRows = await db().select().from(trades).orderBy(trades.id);
  return { orders, fillRows, positions, tradeRows };
}

const connectionById = (id: number) => connections.find((c) => c.id === id) as Connection;
const fakeOrders = (broker: ScenarioBroker) => fakeOf(broker).state.engine.orders as FakeOrder[];
const fakeFills = (broker: ScenarioBroker) => fakeOf(broker).state.engine.fills as EngineFill[];
const signedOf = (row: { side: string; quantity: string }) =>
  row.side === 'short' ? new Big(row.quantity).neg() : new Big(row.quantity);
const within = (a: Big.BigSource, b: Big.BigSource, tolerance: Big.BigSource) =>
  new Big(a).minus(b).abs().lte(tolerance);

describe('books never drift: a seeded session of randomized signals, fills and worker kills', () => {
  it('accepts every signal once and answers every re-delivery as a duplicate of it', async () => {
    const originals = answers.filter((a) => !a.event.redelivery);
    // Accepted: 202, or, sent again after a 503, the duplicate of the attempt that was logged after all.
    const loggedLate = (a: Answer) => a.retried > 0 && a.status === 200 && a.body.status === 'duplicate';
    const refused = originals.filter((a) => a.status !== 202 && !loggedLate(a));
    expect(refused.slice(0, 10).map((a) => `${a.event.body}: ${a.status} ${JSON.stringify(a.body)}`)).toEqual([]);
    expect(originals).toHaveLength(SIGNALS + scenario.closing.length);
    const idOf = new Map(originals.map((a) => [a.event.signal, a.status === 202 ? a.body.id : a.body.duplicateOf]));
    const redelivered = answers.filter((a) => a.event.redelivery);
    expect(redelivered).toHaveLength(scenario.redeliveries);
    const notDuplicates = redelivered.filter(
      (a) => a.status !== 200 || a.body.status !== 'duplicate' || a.body.duplicateOf !== idOf.get(a.event.signal),
    );
    expect(notDuplicates.slice(0, 10).map((a) => `${a.event.body}: ${a.status} ${JSON.stringify(a.body)}`)).toEqual([]);
    // One log per signal, and one `duplicate` log per re-delivery (and per retry that met its logged first attempt).
    const logs = await db().select({ status: webhookLogs.status }).from(webhookLogs);
    const duplicates = logs.filter((l) => l.status === 'duplicate').length;
    expect(logs.length - duplicates).toBe(SIGNALS + scenario.closing.length);
    expect(duplicates).toBe(scenario.redeliveries + answers.filter(loggedLate).length);
  });

  it('settles every log and every order', async () => {
    const logs = await db()
      .select({ id: webhookLogs.id, status: webhookLogs.status })
      .from(webhookLogs)
      .where(inArray(webhookLogs.status, OPEN_LOG_STATUSES));
    const { orders } = await books();
    const working = orders.filter((o) => !TERMINAL_ORDER.has(o.status));
    const stuck = await Promise.all(working.slice(0, 10).map(explainOrder));
    const open = await Promise.all(logs.slice(0, 10).map((log) => explainLog(log, orders)));
    expect([...open, ...stuck]).toEqual([]);
    // The session really traded.
    expect(orders.filter((o) => o.status === 'filled').length).toBeGreaterThan(SIGNALS / 5);
  });

  it('sends no client order id twice, and every order at a broker is one local order filled alike', async () => {
    const { orders } = await books();
    const local = new Map(orders.map((o) => [o.clientOrderId, o]));
    const problems: string[] = [];
    for (const broker of ['alpaca', 'tradovate'] as const) {
      const seen = new Map<string, number>();
      for (const order of fakeOrders(broker)) {
        const id = String(order.clientOrderId);
        seen.set(id, (seen.get(id) ?? 0) + 1);
        const mine = local.get(order.clientOrderId);
        if (mine?.brokerOrderId !== order.id) problems.push(`${broker} order ${order.id} (${id}) has no local row`);
        else if (!new Big(mine.filledQty).eq(order.filledQty)) {
          problems.push(`${id}: filled ${order.filledQty} at ${broker}, ${mine.filledQty} here`);
        }
      }
      for (const [id, n] of seen) if (n > 1) problems.push(`${id} sent ${n} times to ${broker}`);
    }
    const atBroker = new Set([...fakeOrders('alpaca'), ...fakeOrders('tradovate')].map((o) => o.clientOrderId));
    // An order with a broker id is at the broker; one without (cancelled before it was sent, refused by the broker)
    // ended without a fill, and the loop above made sure the broker has no order of that client id.
    for (const order of orders) {
      if (order.brokerOrderId !== null && !atBroker.has(order.clientOrderId)) {
        problems.push(`order ${order.id} ${order.status} (${order.brokerOrderId}) is not at the broker`);
      }
      if (order.brokerOrderId === null && (!UNSENT_ENDS.has(order.status) || !new Big(order.filledQty).eq(0))) {
        problems.push(`order ${order.id} ${order.status} filled ${order.filledQty} without a broker id`);
      }
    }
    expect(problems.slice(0, 20), `${problems.length} problems`).toEqual([]);
  });

  it('records exactly the fills the broker reported', async () => {
    const { orders, fillRows } = await books();
    const fillsOfOrder = groupBy(fillRows, (f) => f.orderId);
    const fakeByClientId = new Map(
      (['alpaca', 'tradovate'] as const).flatMap((b) => fakeOrders(b).map((o) => [o.clientOrderId, o] as const)),
    );
    const executionsOf = groupBy([...fakeFills('alpaca'), ...fakeFills('tradovate')], (f) => f.orderId);
    const problems: string[] = [];
    for (const order of orders) {
      const broker = connectionById(order.brokerConnectionId).broker;
      const there = fakeByClientId.get(order.clientOrderId);
      const executions = there ? (executionsOf.get(there.id) ?? []) : [];
      const mine = fillsOfOrder.get(order.id) ?? [];
      const what = `order ${order.id} ${order.status} after ${order.attempts} attempt(s)${order.lastError ? ` (${order.lastError})` : ''}, ${there?.status ?? 'not'} at the broker`;
      if (broker === 'tradovate') {
        // Tradovate lists each execution (ids numericId × 1000 + n): recorded one by one, exactly.
        const expected = executions.map(
          (f, n) => `${Number(f.orderId) * 1000 + n + 1} ${new Big(f.qty)} @ ${new Big(f.price)}`,
        );
        const recorded = mine.map((f) => `${f.brokerFillId} ${new Big(f.quantity)} @ ${new Big(f.price)}`);
        if (JSON.stringify(expected.sort()) !== JSON.stringify(recorded.sort())) {
          problems.push(`${what}: broker ${expected.join(', ')}; recorded ${recorded.join(', ')}`);
        }
        continue;
      }
      // Alpaca reports an order's running total and average only: the recorded parts add up to the executions,
      // each part's price rounded to the 8-decimal column.
      const quantity = (rows: Array<{ quantity: string }>) => rows.reduce((s, r) => s.plus(r.quantity), new Big(0));
      const notional = (rows: Array<{ quantity: string; price: string }>) =>
        rows.reduce((s, r) => s.plus(new Big(r.quantity).times(r.price)), new Big(0));
      const brokerRows = executions.map((f) => ({ quantity: f.qty, price: f.price }));
      const filled = quantity(brokerRows);
      if (!quantity(mine).eq(filled) || !within(notional(mine), notional(brokerRows), filled.times(CENT_OF_A_CENT))) {
        problems.push(
          `${what}: broker ${filled} for ${notional(brokerRows)}, recorded ${quantity(mine)} for ${notional(mine)}`,
        );
      }
    }
    expect(problems.slice(0, 20), `${problems.length} orders recorded differently`).toEqual([]);
  });

  it('holds on every connection and symbol exactly what the broker account holds', async () => {
    const { positions, fillRows, orders } = await books();
    const problems: string[] = [];
    let averagesCompared = 0;
    const orderOf = new Map(orders.map((o) => [o.id, o]));
    for (const connection of connections) {
      const account = fakeOf(connection.broker).state.engine.account(connection.account);
      const mine = positions.filter((p) => p.brokerConnectionId === connection.id);
      const symbols = new Set([...mine.map((p) => p.symbol), ...account.positions.keys()]);
      for (const symbol of symbols) {
        const held = mine.filter((p) => p.symbol === symbol);
        const local = held.reduce((sum, p) => sum.plus(signedOf(p)), new Big(0));
        const book = account.positions.get(symbol);
        const broker = new Big(book?.qty ?? '0');
        if (!local.eq(broker))
          problems.push(`${connection.broker} ${connection.index} ${symbol}: ${local} here, ${broker} at the broker`);
        // The account's average is the strategy's only where one strategy trades the account, and only if its
        // fills reached the books in the order the broker made them (two working orders may be polled either way).
        const [only] = held;
        if (held.length !== 1 || !only || local.eq(0) || !book) continue;
        const localSequence = collapse(
          fillRows
            .map((f) => orderOf.get(f.orderId) as OrderRow)
            .filter((o) => o.brokerConnectionId === connection.id && o.brokerSymbol === symbol)
            .map((o) => String(o.brokerOrderId)),
        );
        const brokerSequence = collapse(
          fakeFills(connection.broker)
            .filter((f) => f.account === connection.account && f.symbol === symbol)
            .map((f) => f.orderId),
        );
        if (localSequence.join() !== brokerSequence.join()) continue;
        averagesCompared++;
        // Both sides round their averages (8 and 10 decimals) fill after fill; far below a cent either way.
        if (!within(only.avgEntryPrice, book.avgPrice, '0.000001')) {
          problems.push(
            `${connection.broker} ${connection.index} ${symbol}: average ${only.avgEntryPrice} here, ${book.avgPrice} at the broker`,
          );
        }
      }
    }
    console.info(`books: averages compared with the broker on ${averagesCompared} single-strategy position(s)`);
    expect(problems.slice(0, 20), `${problems.length} positions off`).toEqual([]);
  });

  it('keeps every position and trade equal to an independent average-cost book of its fills (P&L to 1e-8)', async () => {
    const { orders, fillRows, positions, tradeRows } = await books();
    const orderOf = new Map(orders.map((o) => [o.id, o]));
    const keyOf = (r: { strategyId: number; brokerConnectionId: number; symbol: string }) =>
      `${r.strategyId}/${r.brokerConnectionId}/${r.symbol}`;
    const bookOf = new Map<string, AverageCostBook>();
    for (const fill of fillRows) {
      const order = orderOf.get(fill.orderId) as OrderRow;
      const key = keyOf({ ...order, symbol: order.brokerSymbol });
      let book = bookOf.get(key);
      if (!book) {
        book = new AverageCostBook(multiplierOf(connectionById(order.brokerConnectionId).broker, order.brokerSymbol));
        bookOf.set(key, book);
      }
      book.apply({ side: order.side, quantity: fill.quantity, price: fill.price, commission: fill.commission });
    }

    const problems: string[] = [];
    for (const position of positions) {
      const book = bookOf.get(keyOf(position));
      if (!book) {
        problems.push(`${keyOf(position)}: a position without fills`);
        continue;
      }
      if (!signedOf(position).eq(book.position) || !within(position.avgEntryPrice, book.average, CENT_OF_A_CENT)) {
        problems.push(
          `${keyOf(position)}: ${signedOf(position)} @ ${position.avgEntryPrice}, book ${book.position} @ ${book.average}`,
        );
      }
    }
    const tradesOf = groupBy(tradeRows, keyOf);
    for (const [key, book] of bookOf) {
      const rows = tradesOf.get(key) ?? [];
      if (rows.length !== book.trades.length)
        problems.push(`${key}: ${rows.length} trades, book ${book.trades.length}`);
      book.trades.forEach((expected, n) => {
        const row = rows[n];
        const off = row ? tradeDifference(row, expected) : 'missing';
        if (off) problems.push(`${key} trade ${n + 1}: ${off}`);
      });
    }
    const realized = new Map<number, Big>();
    for (const row of tradeRows) {
      realized.set(row.strategyId, (realized.get(row.strategyId) ?? new Big(0)).plus(row.pnl ?? '0'));
    }
    for (const target of routed) {
      const expected = [...bookOf]
        .filter(([key]) => key.startsWith(`${target.strategyId}/`))
        .reduce((sum, [, book]) => sum.plus(book.realized()), new Big(0));
      const actual = realized.get(target.strategyId) ?? new Big(0);
      if (!within(actual, expected, CENT_OF_A_CENT)) {
        problems.push(`strategy ${target.strategyId}: realized ${actual}, book ${expected}`);
      }
    }
    const closed = tradeRows.filter((t) => t.status === 'closed');
    const total = [...realized.values()].reduce((sum, v) => sum.plus(v), new Big(0));
    console.info(
      `books: ${fillRows.length} fills over ${bookOf.size} books, ${tradeRows.length} trades (${closed.length} closed, ` +
        `${closed.filter((t) => new Big(t.pnl ?? '0').lt(0)).length} at a loss), realized P&L ${total.toFixed(2)}`,
    );
    expect(problems.slice(0, 20), `${problems.length} differences from the average-cost books`).toEqual([]);
    expect(closed.length).toBeGreaterThan(SIGNALS / 20);
  });

  it('reconciles every connection clean, then reports a drift at the broker on exactly that symbol', async () => {
    const { positions } = await books();
    const runs = new Map<number, RunView | null>();
    await pooled(connections, 4, async (connection) => {
      runs.set(connection.id, await reconcile(connection));
    });
    // A run the kill cut short holds its connection until its heartbeat is stale (runs.ts RUN_LIVENESS): skipped.
    const blocked = connections.filter((c) => runs.get(c.id) === null);
    if (blocked.length > 0) {
      console.warn(
        `books: ${blocked.length} connection(s) held by a run a kill interrupted: ${blocked.map((c) => c.id)}`,
      );
    }
    const unclean = [...runs].filter(([, run]) => run && (run.status !== 'ok' || run.discrepancies.length > 0));
    expect(unclean.map(([id, run]) => `connection ${id}: ${JSON.stringify(run)}`)).toEqual([]);

    const drifts = [
      { broker: 'alpaca' as const, symbol: 'MSFT', quantity: '7' },
      { broker: 'tradovate' as const, symbol: 'MESZ5', quantity: '2' },
    ];
    for (const drift of drifts) {
      // A connection two strategies share, so the discrepancy is on the sum of their positions.
      const connection = connections.find((c) => c.broker === drift.broker && c.index > 0 && runs.get(c.id));
      if (!connection) throw new Error(`no ${drift.broker} connection free to reconcile`);
      const local = positions
        .filter((p) => p.brokerConnectionId === connection.id && p.symbol === drift.symbol)
        .reduce((sum, p) => sum.plus(signedOf(p)), new Big(0));
      // Away from flat: Alpaca refuses an order that would take a position through zero.
      const side = local.lt(0) ? 'sell' : 'buy';
      await tradeBehindTheBack(connection, drift.symbol, side, drift.quantity);
      const run = await reconcile(connection);
      const moved = side === 'buy' ? local.plus(drift.quantity) : local.minus(drift.quantity);
      expect(run, `connection ${connection.id} could not reconcile`).not.toBeNull();
      expect(run?.status).toBe('mismatch');
      expect(
        run?.discrepancies.map((d) => ({ symbol: d.symbol, broker: d.broker, local: d.local, note: d.note })),
      ).toEqual([{ symbol: drift.symbol, broker: moved.toFixed(), local: local.toFixed(), note: null }]);
    }
  }, 180_000);
});

/** Why a log is not final: its signal job and its orders (a log whose orders all ended was never settled). */
async function explainLog(log: { id: number; status: string }, orders: OrderRow[]): Promise<string> {
  const job = await app.queues.signals.getJob(signalJobId(log.id));
  const state = job
    ? `signal job ${await job.getState()} after ${job.attemptsMade} attempt(s), returned ${JSON.stringify(job.returnvalue)}${job.failedReason ? `, failed: ${job.failedReason}` : ''}`
    : 'signal job gone';
  const [row] = await db().select().from(webhookLogs).where(eq(webhookLogs.id, log.id));
  const own = orders
    .filter((o) => o.webhookLogId === log.id)
    .map(
      (o) =>
        `order ${o.id} ${o.status} ${o.intent} ${o.side} ${o.quantity} filled ${o.filledQty}` +
        `${o.parentOrderId ? ` after ${o.parentOrderId}` : ''}${o.lastError ? ` (${o.lastError})` : ''}`,
    );
  return `log ${log.id} ${log.status} ${JSON.stringify(row?.payload)}: ${state}; ${own.join('; ') || 'no orders'}`;
}

/** Why an order is not final: where it is at the broker and what became of its jobs. */
async function explainOrder(order: OrderRow): Promise<string> {
  const broker = connectionById(order.brokerConnectionId).broker;
  const there = fakeOrders(broker).find((o) => o.clientOrderId === order.clientOrderId);
  const submit = await app.queues.orders.getJob(orderJobId(order.id));
  const jobs = [`submit job ${submit ? await submit.getState() : 'gone'}`];
  const polls = await app.queues['order-status'].getJobs(['active', 'waiting', 'delayed', 'failed', 'completed']);
  const own = polls.filter((job) => (job.data as { orderId?: number }).orderId === order.id);
  const last = own.sort((a, b) => Number(b.data.poll ?? 0) - Number(a.data.poll ?? 0))[0];
  if (last)
    jobs.push(`last poll ${last.data.poll ?? 0} ${await last.getState()} (${last.failedReason ?? 'no failure'})`);
  return (
    `order ${order.id} ${order.status} ${order.intent} ${order.orderType} of log ${order.webhookLogId}, ` +
    `${there ? `${there.status} at ${broker}` : `not at ${broker}`}, ${jobs.join(', ')}`
  );
}

function groupBy<T, K>(items: T[], keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return groups;
}

/** Consecutive repeats collapsed: the order in which orders' fills came. */
function collapse(ids: string[]): string[] {
  return ids.filter((id, n) => id !== ids[n - 1]);
}

/** What differs between a trades row and the book's trade ('' when nothing does). */
function tradeDifference(row: typeof trades.$inferSelect, expected: BookTrade): string {
  const off: string[] = [];
  if (row.side !== expected.side) off.push(`side ${row.side}/${expected.side}`);
  if (row.status !== (expected.open ? 'open' : 'closed')) off.push(`status ${row.status}`);
  if (!new Big(row.quantity).eq(expected.entered)) off.push(`quantity ${row.quantity}/${expected.entered}`);
  if (!within(row.entryPrice, expected.entryPrice, CENT_OF_A_CENT))
    off.push(`entry ${row.entryPrice}/${expected.entryPrice}`);
  if (!within(row.fees, expected.fees, CENT_OF_A_CENT)) off.push(`fees ${row.fees}/${expected.fees}`);
  const pnl = tradePnl(expected);
  if ((row.pnl === null) !== (pnl === null) || (pnl && !within(row.pnl ?? '0', pnl, CENT_OF_A_CENT))) {
    off.push(`pnl ${row.pnl}/${pnl}`);
  }
  // The stored exit price is re-averaged from its own rounded value at each exit: close, not exact.
  if (!expected.open) {
    const exit = expected.exitNotional.div(expected.exited);
    if (!within(row.exitPrice ?? '0', exit, '0.000001')) off.push(`exit ${row.exitPrice}/${exit}`);
  }
  return off.join(', ');
}

type RunView = Awaited<
  ReturnType<SignedInUser['client']['brokers']['getReconciliationRuns']['query']>
>['items'][number];

/**
 * brokers.reconcile, then the run it made once finished. A request while a scheduled run is in progress joins
 * nothing (that run skips it), so it is asked again until a newer run finishes. Null when the connection is held by
 * a run a kill interrupted (no new run can start for 10 minutes).
 */
async function reconcile(connection: Connection): Promise<RunView | null> {
  const { client } = connection.trader;
  const latest = async () =>
    (await client.brokers.getReconciliationRuns.query({ connectionId: connection.id, limit: 1 })).items[0];
  const before = (await latest())?.id ?? 0;
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline) {
    await client.brokers.reconcile.mutate({ connectionId: connection.id });
    for (const until = Date.now() + 3_000; Date.now() < until; await sleep(100)) {
      const run = await latest();
      if (run && run.id > before && run.status !== null) return run;
      if (run && run.status === null && run.startedAt.getTime() < lastKillAt) return null;
    }
  }
  throw new Error(`no reconciliation run of connection ${connection.id} within 45 s`);
}

/** An order placed at the broker with the account's own credentials, outside Fillpath; waits until it filled. */
async function tradeBehindTheBack(connection: Connection, symbol: string, side: 'buy' | 'sell', quantity: string) {
  const { login } = connection;
  let placed: { status: number; body: unknown };
  if ('keyId' in login) {
    const direct = httpClient(alpaca.url, { 'APCA-API-KEY-ID': login.keyId, 'APCA-API-SECRET-KEY': login.secret });
    placed = await direct.post('/v2/orders', { symbol, qty: quantity, side, type: 'market', time_in_force: 'day' });
  } else {
    const token = tradovate.controls.issueToken(login.user);
    rememberSecret(token);
    const direct = httpClient(tradovate.url, { authorization: `Bearer ${token}` });
    placed = await direct.post('/order/placeorder', {
      accountSpec: login.accountSpec,
      accountId: Number(connection.account),
      action: side === 'buy' ? 'Buy' : 'Sell',
      symbol,
      orderQty: Number(quantity),
      orderType: 'Market',
      isAutomated: true,
    });
  }
  expect(placed.status, JSON.stringify(placed.body)).toBe(200);
  const engine = fakeOf(connection.broker).state.engine;
  const direct = engine.orders.filter((o) => o.account === connection.account && !o.clientOrderId?.startsWith('fp-'));
  expect(direct).toHaveLength(1);
  expect(direct.every((o) => o.status === 'filled')).toBe(true);
}
