/**
 * SPEC §13 R8: two api processes and two worker processes on one machine, against one MariaDB and one Redis (this
 * file's database and prefix), Alpaca pointed at an in-process fake. TRADERS traders, each with STRATEGIES_PER_TRADER
 * strategies on accounts of their own, subscribe to notifications.onEvent on both apis; alerts are spread over the
 * two apis, and every DUPLICATE_EVERY-th one is sent to both at once (the same body: one must win, the other be told
 * it is a duplicate). Each strategy alternates buy and sell, one share each, the next sent once the previous executed
 * (a sell overtaking its buy would be ignored: no short selling), all strategies at once: every accepted alert is
 * exactly one order, and both workers take jobs side by side.
 *
 * Once every log and order is final and every notification dispatched: each accepted alert executed once (one order
 * at the fake per accepted log, no client order id twice, every log `executed`), each pair answered once 202 and once
 * as a duplicate, every position equal to the fake account's; and each subscription, whichever api it is on, received
 * exactly what the database says happened to its trader (a receipt per log, a `filled` event per order, an event per
 * notification), each once, and nothing of anyone else.
 *
 * Time on the 2-core machine: ~50–60 s (four processes starting ~20 s, the alerts ~15–20 s).
 */
import { Big } from 'big.js';
import { and, count, eq, inArray, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerOrders } from '../../drizzle/schema/broker_orders.ts';
import { notifications } from '../../drizzle/schema/notifications.ts';
import { openPositions } from '../../drizzle/schema/open_positions.ts';
import { webhookLogs } from '../../drizzle/schema/webhook_logs.ts';
import { TERMINAL_ORDER_STATUSES, type WebhookLogStatus } from '../../shared/enums.ts';
import { type FakeAlpaca, startFakeAlpaca } from '../fakes/alpaca.ts';
import { type ApiProcess, startApiProcess } from '../helpers/api-process.ts';
import { waitFor } from '../helpers/app.ts';
import { type SignedInUser, signUp } from '../helpers/client.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import { type AlertAnswer, postAlert } from '../helpers/webhooks.ts';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.ts';
import {
  type EventSubscription,
  FROM_START,
  type ReceivedEvent,
  subscribeEvents,
} from '../integration/realtime/event-client.ts';

const TRADERS = 4;
const STRATEGIES_PER_TRADER = 2;
/** Odd: each strategy ends long one share. */
const ALERTS_PER_STRATEGY = 37;
const ALERTS = TRADERS * STRATEGIES_PER_TRADER * ALERTS_PER_STRATEGY;
/** Every this many alerts of a strategy, the same body goes to both apis at once. */
const DUPLICATE_EVERY = 8;
const PAIRS = TRADERS * STRATEGIES_PER_TRADER * Math.ceil(ALERTS_PER_STRATEGY / DUPLICATE_EVERY);
const SYMBOL = 'AAPL';
const SETTLE_LIMIT_MS = 60_000;
const OPEN_LOG_STATUSES: WebhookLogStatus[] = ['received', 'executing', 'staged'];
const TERMINAL_ORDER = new Set<string>(TERMINAL_ORDER_STATUSES);

interface Strategy {
  id: number;
  token: string;
  keyId: string;
}

interface Trader {
  user: SignedInUser;
  strategies: Strategy[];
  /** One subscription per api, in the order of `apis`. */
  subscriptions: EventSubscription[];
}

interface Posted {
  strategy: Strategy;
  /** One answer, or two for an alert sent to both apis at once. */
  answers: AlertAnswer[];
}

const keyIdOf = (n: number) => `PKR8TWOOFEACH${String(n).padStart(6, '0')}`;
const secretOf = (n: number) => `r8-secret-${String(n).padStart(6, '0')}-two`;

const database = useTestDatabase();
const db = () => database.db;
let alpaca: FakeAlpaca;
let apis: ApiProcess[] = [];
let workers: WorkerProcess[] = [];
let traders: Trader[];
let posted: Posted[];
/** Orders each worker process sent to the broker, from its /metrics. */
let submittedPerWorker: number[];

async function setUpTraders(apiUrl: string): Promise<Trader[]> {
  const result: Trader[] = [];
  for (let t = 0; t < TRADERS; t++) {
    const user = await signUp(apiUrl);
    const strategies: Strategy[] = [];
    for (let s = 0; s < STRATEGIES_PER_TRADER; s++) {
      const n = t * STRATEGIES_PER_TRADER + s;
      const connection = await user.client.brokers.connect.mutate({
        broker: 'alpaca',
        name: `R8 account ${n}`,
        environment: 'paper',
        credentials: { keyId: keyIdOf(n), secretKey: secretOf(n) },
      });
      // Above the default 60 alerts a minute: this one strategy gets ALERTS_PER_STRATEGY within seconds.
      const created = await user.client.strategies.create.mutate({
        name: `R8 strategy ${n}`,
        ratePerMinute: 600,
        ratePerHour: 10_000,
      });
      rememberSecret(created.webhookToken);
      await user.client.routing.create.mutate({ strategyId: created.strategy.id, brokerConnectionId: connection.id });
      strategies.push({ id: created.strategy.id, token: created.webhookToken, keyId: keyIdOf(n) });
    }
    result.push({ user, strategies, subscriptions: [] });
  }
  return result;
}

/** Resolves once the log is no longer `received` or `executing`. */
async function settledLog(id: number): Promise<void> {
  await waitFor(async () => {
    const [log] = await db().select({ status: webhookLogs.status }).from(webhookLogs).where(eq(webhookLogs.id, id));
    return log !== undefined && !OPEN_LOG_STATUSES.includes(log.status);
  }, 20_000);
}

/**
 * Each strategy's alerts in turn, buy then sell then buy…, each sent once its predecessor executed (a sell arriving
 * before its buy would be ignored: no short selling), all strategies at once. Alert k of a strategy goes to api
 * (k + strategy) % 2, or to both at once when k % DUPLICATE_EVERY is 0.
 */
async function postAll(): Promise<Posted[]> {
  const strategies = traders.flatMap((trader) => trader.strategies);
  const answers: Posted[] = [];
  await Promise.all(
    strategies.map(async (strategy, s) => {
      for (let k = 0; k < ALERTS_PER_STRATEGY; k++) {
        const action = k % 2 === 0 ? 'buy' : 'sell';
        const body = JSON.stringify({ ticker: SYMBOL, action, quantity: 1, idempotencyKey: `r8-${strategy.id}-${k}` });
        const targets = k % DUPLICATE_EVERY === 0 ? apis : [apis[(k + s) % 2] as ApiProcess];
        const sent = await Promise.all(targets.map((api) => postAlert(api.url, strategy.token, body)));
        answers.push({ strategy, answers: sent });
        const accepted = sent.find((answer) => answer.status === 202);
        if (!accepted) return;
        await settledLog(Number(accepted.body.id));
      }
    }),
  );
  return answers;
}

/** Logs and orders not final yet, and notifications not dispatched, as one string ('' once all settled). */
async function unsettled(): Promise<string> {
  const logs = await db()
    .select({ status: webhookLogs.status, n: count() })
    .from(webhookLogs)
    .where(inArray(webhookLogs.status, OPEN_LOG_STATUSES))
    .groupBy(webhookLogs.status);
  const orders = await db()
    .select({ status: brokerOrders.status, n: count() })
    .from(brokerOrders)
    .groupBy(brokerOrders.status);
  const [pending] = await db().select({ n: count() }).from(notifications).where(isNull(notifications.dispatchedAt));
  return [
    ...logs.map((row) => `log ${row.status} ${row.n}`),
    ...orders.filter((row) => !TERMINAL_ORDER.has(row.status)).map((row) => `order ${row.status} ${row.n}`),
    ...(pending && pending.n > 0 ? [`notifications undispatched ${pending.n}`] : []),
  ].join(', ');
}

/** The successful order submissions this worker made, summed over its broker-call histogram. */
async function submittedBy(worker: WorkerProcess): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('fillpath_broker_call_duration_seconds_count{')) continue;
    if (line.includes('op="submitOrder"') && line.includes('outcome="ok"')) total += Number(line.split(' ').at(-1));
  }
  return total;
}

/** What the database says each trader should have heard of: ids of logs, filled orders and notifications. */
async function expectedEvents(trader: Trader) {
  const strategyIds = trader.strategies.map((s) => s.id);
  const logs = await db()
    .select({ id: webhookLogs.id, status: webhookLogs.status })
    .from(webhookLogs)
    .where(inArray(webhookLogs.strategyId, strategyIds));
  const filled = await db()
    .select({ id: brokerOrders.id })
    .from(brokerOrders)
    .where(and(inArray(brokerOrders.strategyId, strategyIds), inArray(brokerOrders.status, ['filled'])));
  const notices = await db()
    .select({ id: notifications.id, userId: notifications.userId, deletedAt: notifications.deletedAt })
    .from(notifications)
    .where(inArray(notifications.userId, [trader.user.id]));
  return {
    // A log is announced as received: `duplicate`, or `accepted` whatever it became afterwards.
    receipts: logs.map((log) => `${log.id} ${log.status === 'duplicate' ? 'duplicate' : 'accepted'}`).sort(),
    filled: filled.map((order) => order.id).sort((a, b) => a - b),
    notifications: notices
      .filter((n) => n.deletedAt === null)
      .map((n) => n.id)
      .sort((a, b) => a - b),
  };
}

/** The same three lists, as one subscription received them (repeats kept, so a repeat shows). */
function receivedEvents(events: ReceivedEvent[]) {
  const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);
  return {
    receipts: events
      .flatMap((e) => (e.data.kind === 'webhook' ? [`${e.data.webhookLogId} ${e.data.status}`] : []))
      .sort(),
    filled: sorted(
      events.flatMap((e) => (e.data.kind === 'order' && e.data.status === 'filled' ? [e.data.orderId] : [])),
    ),
    notifications: sorted(events.flatMap((e) => (e.data.kind === 'notification' ? [e.data.notificationId] : []))),
  };
}

beforeAll(async () => {
  const startedAt = Date.now();
  const accounts = Array.from({ length: TRADERS * STRATEGIES_PER_TRADER }, (_, n) => ({
    keyId: keyIdOf(n),
    secret: secretOf(n),
    cash: '1000000',
  }));
  rememberSecret(...accounts.map((account) => account.secret));
  alpaca = await startFakeAlpaca({ accounts, prices: { [SYMBOL]: '100' } });
  const env = { ALPACA_PAPER_URL: alpaca.url, ALPACA_LIVE_URL: alpaca.url, LOG_LEVEL: 'info' };
  [apis, workers] = await Promise.all([
    Promise.all([startApiProcess(env), startApiProcess(env)]),
    Promise.all([startWorkerProcess(env), startWorkerProcess(env)]),
  ]);
  await Promise.all([...apis, ...workers].map((child) => child.ready(30_000)));
  traders = await setUpTraders((apis[0] as ApiProcess).url);
  for (const trader of traders) {
    trader.subscriptions = apis.map((api) => subscribeEvents(api.url, trader.user.accessToken, FROM_START));
  }
  await Promise.all(traders.flatMap((trader) => trader.subscriptions.map((sub) => sub.started)));
  const readyAt = Date.now();

  posted = await postAll();
  const postedAt = Date.now();
  let still = await unsettled();
  const deadline = Date.now() + SETTLE_LIMIT_MS;
  while (still !== '' && Date.now() < deadline) {
    for (const child of [...apis, ...workers]) {
      if (!child.alive()) throw new Error(`a process died on its own:\n${child.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    still = await unsettled();
  }
  const settledAt = Date.now();
  // Everything is final in the database: give the last events a moment to reach every subscriber.
  await Promise.all(
    traders.map(async (trader) => {
      const expected = await expectedEvents(trader);
      const total = expected.receipts.length + expected.filled.length + expected.notifications.length;
      await Promise.all(
        trader.subscriptions.map((sub) =>
          waitFor(async () => {
            const got = receivedEvents(sub.events);
            return got.receipts.length + got.filled.length + got.notifications.length >= total;
          }, 10_000).catch(() => undefined),
        ),
      );
    }),
  );
  submittedPerWorker = await Promise.all(workers.map(submittedBy));
  console.info(
    `R8: ready in ${readyAt - startedAt} ms, ${ALERTS} alerts posted in ${postedAt - readyAt} ms, ` +
      `settled ${settledAt - postedAt} ms later; still open: ${still || 'nothing'}; ` +
      `orders sent per worker: ${submittedPerWorker.join('/')}`,
  );
}, 150_000);

afterAll(async () => {
  for (const trader of traders ?? []) for (const sub of trader.subscriptions) sub.unsubscribe();
  await Promise.all([...apis.map((api) => api.stop()), ...workers.map((worker) => worker.stop())]);
  await alpaca?.close();
});

describe('R8: two api and two worker processes at once', () => {
  it('accepts every alert once: each pair sent to both apis is answered once accepted and once as a duplicate', () => {
    const statuses = posted.map((p) => p.answers.map((a) => a.status).sort((a, b) => a - b));
    const pairs = statuses.filter((s) => s.length === 2);
    expect(pairs.length).toBe(PAIRS);
    expect(pairs.filter((s) => s[0] !== 200 || s[1] !== 202)).toEqual([]);
    for (const p of posted.filter((x) => x.answers.length === 2)) {
      const duplicate = p.answers.find((a) => a.status === 200);
      const accepted = p.answers.find((a) => a.status === 202);
      expect(duplicate?.body).toMatchObject({ status: 'duplicate', duplicateOf: accepted?.body.id });
    }
    expect(statuses.filter((s) => s.length === 1 && s[0] !== 202)).toEqual([]);
  });

  it('executes every accepted alert exactly once: each log executed, one order each, no client order id twice', async () => {
    const accepted = posted.map((p) => Number(p.answers.find((a) => a.status === 202)?.body.id));
    const logs = await db().select({ id: webhookLogs.id, status: webhookLogs.status }).from(webhookLogs);
    const byId = new Map(logs.map((log) => [log.id, log.status]));
    expect(accepted.filter((id) => byId.get(id) !== 'executed').map((id) => `${id} ${byId.get(id)}`)).toEqual([]);
    expect(logs.filter((log) => log.status === 'duplicate')).toHaveLength(PAIRS);
    expect(logs).toHaveLength(ALERTS + PAIRS);

    const orders = await db().select().from(brokerOrders);
    const perLog = new Map<number | null, number>();
    for (const order of orders) perLog.set(order.webhookLogId, (perLog.get(order.webhookLogId) ?? 0) + 1);
    expect(accepted.filter((id) => perLog.get(id) !== 1)).toEqual([]);
    expect(orders).toHaveLength(ALERTS);
    expect(orders.filter((order) => order.status !== 'filled').map((o) => `${o.id} ${o.status}`)).toEqual([]);

    const atBroker = alpaca.state.engine.orders;
    expect(new Set(atBroker.map((order) => order.clientOrderId)).size).toBe(atBroker.length);
    expect(atBroker).toHaveLength(ALERTS);
    const local = new Map(orders.map((order) => [order.clientOrderId, order.brokerOrderId]));
    expect(atBroker.filter((order) => local.get(String(order.clientOrderId)) !== order.id)).toEqual([]);
  });

  it('shares the orders between both workers, and between them sends each once', () => {
    expect(submittedPerWorker.every((n) => n > 0)).toBe(true);
    expect(submittedPerWorker.reduce((a, b) => a + b, 0)).toBe(ALERTS);
  });

  it("keeps every strategy's position equal to what its alerts add up to and to the fake account", async () => {
    const positions = await db().select().from(openPositions);
    const held = new Map(positions.map((p) => [p.strategyId, `${p.side} ${new Big(p.quantity)}`]));
    const perStrategy = new Map<number, number>();
    for (const p of posted) perStrategy.set(p.strategy.id, (perStrategy.get(p.strategy.id) ?? 0) + 1);
    const accountOf = new Map(alpaca.state.accounts.map((account) => [account.keyId, account.id]));
    const mismatches = traders.flatMap((trader) =>
      trader.strategies.flatMap((strategy) => {
        const alerts = perStrategy.get(strategy.id) ?? 0;
        // Buy, sell, buy…: an odd count leaves one share.
        const net = alerts % 2;
        const book = alpaca.state.engine.account(accountOf.get(strategy.keyId) as string).positions.get(SYMBOL);
        const ours = held.get(strategy.id);
        return alerts === ALERTS_PER_STRATEGY && ours === `long ${net}` && new Big(book?.qty ?? '0').eq(net)
          ? []
          : [`strategy ${strategy.id}: ${alerts} alerts, position ${ours}, broker ${book?.qty}`];
      }),
    );
    expect(mismatches).toEqual([]);
  });

  it('delivers to every subscriber, on either api, each event of its trader once and nothing of another', async () => {
    for (const trader of traders) {
      const expected = await expectedEvents(trader);
      // Every alert of the trader: its log, its filled order and the fill's notification.
      expect(expected.filled.length).toBe(trader.strategies.length * ALERTS_PER_STRATEGY);
      expect(expected.notifications.length).toBeGreaterThanOrEqual(expected.filled.length);
      const strategyIds = new Set(trader.strategies.map((s) => s.id));
      for (const [index, sub] of trader.subscriptions.entries()) {
        const where = `trader ${trader.user.id} on api ${index}`;
        expect(sub.error, where).toBeNull();
        expect(receivedEvents(sub.events), where).toEqual(expected);
        expect(new Set(sub.events.map((e) => e.id)).size, where).toBe(sub.events.length);
        const foreign = sub.events.filter(
          (e) => (e.data.kind === 'webhook' || e.data.kind === 'order') && !strategyIds.has(e.data.strategyId),
        );
        expect(foreign, where).toEqual([]);
      }
    }
  });
});
