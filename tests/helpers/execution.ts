/**
 * The whole execution path in one test process: the api (startTestApp), the three fake brokers, and the worker's
 * signals, orders, order-status and dead-letter processors on real queues, all sharing one broker registry pointed
 * at the fakes. As in server/worker.ts, a job given up on becomes a dead letter. `setupStrategy()` gives a
 * signed-in trader a strategy routed to a fake broker; `send()` posts an alert to its webhook.
 */
import { Big } from 'big.js';
import type { Worker } from 'bullmq';
import { and, eq } from 'drizzle-orm';
import { brokerOrders } from '../../drizzle/schema/broker_orders.ts';
import { fills } from '../../drizzle/schema/fills.ts';
import { notifications } from '../../drizzle/schema/notifications.ts';
import { openPositions } from '../../drizzle/schema/open_positions.ts';
import { trades } from '../../drizzle/schema/trades.ts';
import { webhookLogs } from '../../drizzle/schema/webhook_logs.ts';
import { BrokerRegistry, type RegistryOptions } from '../../server/brokers/registry.ts';
import { createRedis } from '../../server/jobs/connection.ts';
import { enqueueDeadLetterRecord } from '../../server/jobs/dead-letters.ts';
import { deadLettersProcessor } from '../../server/jobs/processors/dead-letters.ts';
import { orderStatusProcessor, ordersProcessor } from '../../server/jobs/processors/orders.ts';
import { signalsProcessor } from '../../server/jobs/processors/signals.ts';
import { closeQueues, createQueues, createWorker, type QueueConfig } from '../../server/jobs/queue-factory.ts';
import {
  deadLettersQueue,
  orderStatusQueue,
  ordersQueue,
  QUEUE_CONFIGS,
  signalsQueue,
} from '../../server/jobs/queues/index.ts';
import { env } from '../../server/lib/env.ts';
import { logger } from '../../server/lib/logger.ts';
import type { RedisClient } from '../../server/lib/redis-client.ts';
import { canonical } from '../../server/services/execution/position-math.ts';
import type { Broker, BrokerEnvironment } from '../../shared/enums.ts';
import type { ConnectInput } from '../../shared/schemas/brokers.ts';
import type { CreateRoutingRuleInput } from '../../shared/schemas/routing.ts';
import type { CreateStrategyInput } from '../../shared/schemas/strategies.ts';
import { type FakeAlpaca, startFakeAlpaca } from '../fakes/alpaca.ts';
import { type FakeIbkr, startFakeIbkr } from '../fakes/ibkr.ts';
import { type FakeTradovate, startFakeTradovate } from '../fakes/tradovate.ts';
import { startTestApp, type TestApp, waitFor } from './app.ts';
import { type SignedInUser, signUp } from './client.ts';
import { rememberSecret } from './secrets.ts';
import { type AlertAnswer, postAlert } from './webhooks.ts';

export interface ExecutionHarness {
  server: TestApp;
  alpaca: FakeAlpaca;
  tradovate: FakeTradovate;
  ibkr: FakeIbkr;
  registry: BrokerRegistry;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Per-broker pacing overrides (the IBKR gateway's 1-per-5-s buckets slow every round trip down). */
  pacing?: RegistryOptions['pacing'];
  /** The Redis of the api and the workers (env.REDIS_URL, single node, by default), e.g. a Redis Cluster. */
  redis?: { url: string; cluster: boolean };
}

/**
 * The worker's producers, test-only: the orders queue keeps its production attempts but backs off from 25 ms
 * instead of 2 s, so a test sees a broker outage outlast every attempt in under a second.
 */
const TEST_QUEUE_CONFIGS: typeof QUEUE_CONFIGS = {
  ...QUEUE_CONFIGS,
  orders: {
    ...ordersQueue,
    defaultJobOptions: { ...ordersQueue.defaultJobOptions, backoff: { type: 'exponential', delay: 25 } },
  },
};

export async function startExecutionHarness(options: HarnessOptions = {}): Promise<ExecutionHarness> {
  const [alpaca, tradovate, ibkr] = await Promise.all([startFakeAlpaca(), startFakeTradovate(), startFakeIbkr()]);
  ibkr.controls.login();
  const registry = new BrokerRegistry({
    urls: {
      alpacaPaper: alpaca.url,
      alpacaLive: alpaca.url,
      tradovateDemo: tradovate.url,
      tradovateLive: tradovate.url,
      ibkrGateway: ibkr.url,
    },
    breaker: { volumeThreshold: 50 },
    ...(options.pacing ? { pacing: options.pacing } : {}),
  });
  const redis = options.redis ?? { url: env.REDIS_URL, cluster: false };
  const server = await startTestApp({ brokers: registry, redisUrl: redis.url, redisCluster: redis.cluster });
  rememberSecret('fake-secret', 'fake-password', 'fake-sec');
  const consumer: RedisClient = createRedis(redis.url, 'worker', logger, { cluster: redis.cluster });
  const producer: RedisClient = createRedis(redis.url, 'producer', logger, { cluster: redis.cluster });
  const queues = createQueues(TEST_QUEUE_CONFIGS, producer, logger);
  const sources = { database: server.deps.database, log: logger, registry, queues };
  const start = (config: QueueConfig, processor: Parameters<typeof createWorker>[1]) =>
    createWorker(config, processor, consumer, logger, {
      onGivenUp: (job) => enqueueDeadLetterRecord(queues, config.name, job, logger),
    });
  const workers: Worker[] = [
    start(signalsQueue, signalsProcessor(sources)),
    start(ordersQueue, ordersProcessor(sources)),
    start(orderStatusQueue, orderStatusProcessor(sources)),
    start(deadLettersQueue, deadLettersProcessor({ database: server.deps.database, log: logger, queues })),
  ];
  return {
    server,
    alpaca,
    tradovate,
    ibkr,
    registry,
    async close() {
      await Promise.all(workers.map((worker) => worker.close()));
      await closeQueues(queues);
      await Promise.all([consumer.quit(), producer.quit()]);
      await server.close();
      await Promise.all([alpaca.close(), tradovate.close(), ibkr.close()]);
    },
  };
}

export interface RoutedStrategy {
  trader: SignedInUser;
  strategyId: number;
  /** The connection of the strategy's first routing rule. */
  connectionId: number;
  token: string;
  send(alert: Record<string, unknown>): Promise<AlertAnswer>;
}

let counter = 0;

/** Connect input with each fake's default credentials. */
function connectInput(broker: Broker, environment: BrokerEnvironment): ConnectInput {
  const name = `${broker} ${++counter}`;
  if (broker === 'alpaca') {
    return {
      broker,
      name,
      environment,
      credentials: { keyId: 'PKFAKEKEY0000000001', secretKey: 'fake-secret' },
    };
  }
  if (broker === 'tradovate') {
    const credentials = { name: 'fakeuser', password: 'fake-password', appId: 'Fillpath', appVersion: '1.0' };
    return { broker, name, environment, credentials: { ...credentials, cid: 8, sec: 'fake-sec' } };
  }
  return { broker, name, environment, credentials: { accountId: 'DU1234567' } };
}

/** A routing rule from the strategy to a new connection of `broker`; returns the connection id. */
export async function addRoute(
  routed: Pick<RoutedStrategy, 'trader' | 'strategyId'>,
  broker: Broker,
  routing: Partial<CreateRoutingRuleInput> = {},
  environment: BrokerEnvironment = 'paper',
): Promise<number> {
  const connection = await routed.trader.client.brokers.connect.mutate(connectInput(broker, environment));
  await routed.trader.client.routing.create.mutate({
    strategyId: routed.strategyId,
    brokerConnectionId: connection.id,
    ...routing,
  });
  return connection.id;
}

/** A new trader with a `broker` connection (the fake's default credentials) and a strategy routed to it. */
export async function setupStrategy(
  harness: ExecutionHarness,
  broker: Broker,
  strategy: Partial<CreateStrategyInput> = {},
  routing: Partial<CreateRoutingRuleInput> = {},
  environment: BrokerEnvironment = 'paper',
): Promise<RoutedStrategy> {
  const trader = await signUp(harness.server.url);
  const created = await trader.client.strategies.create.mutate({ name: `Strategy ${++counter}`, ...strategy });
  rememberSecret(created.webhookToken);
  const strategyId = created.strategy.id;
  const connectionId = await addRoute({ trader, strategyId }, broker, routing, environment);
  const token = created.webhookToken;
  return {
    trader,
    strategyId,
    connectionId,
    token,
    send: (alert) => postAlert(harness.server.url, token, JSON.stringify(alert)),
  };
}

type BrokerSetup = (
  harness: ExecutionHarness,
  strategy?: Partial<CreateStrategyInput>,
  routing?: Partial<CreateRoutingRuleInput>,
) => Promise<RoutedStrategy>;
const setupFor =
  (broker: Broker): BrokerSetup =>
  (harness, strategy = {}, routing = {}) =>
    setupStrategy(harness, broker, strategy, routing);
export const setupAlpacaStrategy = setupFor('alpaca');
export const setupTradovateStrategy = setupFor('tradovate');
export const setupIbkrStrategy = setupFor('ibkr');

/** Waits until the log reaches one of `statuses` and returns it. */
export async function logSettles(harness: ExecutionHarness, id: unknown, statuses: string[], timeoutMs = 10_000) {
  const db = harness.server.deps.database.db;
  let row: typeof webhookLogs.$inferSelect | undefined;
  await waitFor(
    async () => {
      [row] = await db
        .select()
        .from(webhookLogs)
        .where(eq(webhookLogs.id, Number(id)));
      return row !== undefined && statuses.includes(row.status);
    },
    timeoutMs,
    25,
  );
  if (!row) throw new Error(`log ${String(id)} not found`);
  return row;
}

/** Where a log ends once nothing about it can change any more. */
export const FINAL_LOG_STATUSES = ['executed', 'failed', 'ignored', 'rejected'];

/** Sends an alert (which must be accepted) and returns its log once it is final. */
export async function sendAndSettle(harness: ExecutionHarness, routed: RoutedStrategy, alert: Record<string, unknown>) {
  const answer = await routed.send(alert);
  if (answer.status !== 202) throw new Error(`alert not accepted: ${answer.status} ${JSON.stringify(answer.body)}`);
  return logSettles(harness, answer.body.id, FINAL_LOG_STATUSES);
}

/**
 * Holds the signals queue while `during` runs: an alert sent meanwhile is accepted (log `received`) and executes
 * only afterwards, so a test can change the strategy or the account between acceptance and execution.
 */
export async function withSignalsHeld(harness: ExecutionHarness, during: () => Promise<void>): Promise<void> {
  await harness.server.queues.signals.pause();
  try {
    await during();
  } finally {
    await harness.server.queues.signals.resume();
  }
}

/**
 * The strategy's signed position on the symbol (on one connection, or summed over all), canonical: '0' when flat
 * or never traded.
 */
export async function positionOf(
  harness: ExecutionHarness,
  strategyId: number,
  symbol: string,
  connectionId?: number,
): Promise<string> {
  const db = harness.server.deps.database.db;
  const rows = await db
    .select()
    .from(openPositions)
    .where(
      and(
        eq(openPositions.strategyId, strategyId),
        eq(openPositions.symbol, symbol),
        connectionId === undefined ? undefined : eq(openPositions.brokerConnectionId, connectionId),
      ),
    );
  const signed = rows.map((row) => (row.side === 'short' ? new Big(row.quantity).neg() : new Big(row.quantity)));
  return canonical(signed.reduce((sum, quantity) => sum.plus(quantity), new Big(0)).toFixed());
}

export async function ordersOfLog(harness: ExecutionHarness, webhookLogId: unknown) {
  const db = harness.server.deps.database.db;
  return db
    .select()
    .from(brokerOrders)
    .where(eq(brokerOrders.webhookLogId, Number(webhookLogId)))
    .orderBy(brokerOrders.id);
}

export async function tradesOf(harness: ExecutionHarness, strategyId: number) {
  const db = harness.server.deps.database.db;
  return db.select().from(trades).where(eq(trades.strategyId, strategyId)).orderBy(trades.id);
}

/** The user's notifications of `type`, oldest first. */
export async function notificationsOf(harness: ExecutionHarness, userId: number, type: string) {
  const db = harness.server.deps.database.db;
  return db
    .select()
    .from(notifications)
    .where(and(eq(notifications.userId, userId), eq(notifications.type, type)))
    .orderBy(notifications.id);
}

/** An order's decimal columns as canonical text, for exact assertions. */
export function orderFigures(order: typeof brokerOrders.$inferSelect | undefined) {
  if (!order) throw new Error('no such order');
  return {
    side: order.side,
    intent: order.intent,
    status: order.status,
    quantity: canonical(order.quantity),
    filledQty: canonical(order.filledQty),
    avgFillPrice: order.avgFillPrice === null ? null : canonical(order.avgFillPrice),
  };
}

/** Seeds a position through the real path: sends the entry and waits until its orders filled (log `executed`). */
export async function seedPosition(
  harness: ExecutionHarness,
  routed: RoutedStrategy,
  alert: Record<string, unknown>,
): Promise<void> {
  const log = await sendAndSettle(harness, routed, alert);
  if (log.status !== 'executed') throw new Error(`seed entry ended ${log.status}: ${log.errorMessage ?? ''}`);
}

/** The `signal.ignored` / `signal.rejected` notifications that name this log. */
export async function signalNotices(harness: ExecutionHarness, userId: number, webhookLogId: number) {
  const all = [
    ...(await notificationsOf(harness, userId, 'signal.ignored')),
    ...(await notificationsOf(harness, userId, 'signal.rejected')),
  ];
  return all.filter((n) => (n.data as { webhookLogId?: number } | null)?.webhookLogId === webhookLogId);
}

/** Waits until the order's row satisfies `done` (e.g. a status, a filled quantity) and returns it. */
export async function orderReaches(
  harness: ExecutionHarness,
  orderId: number,
  done: (order: typeof brokerOrders.$inferSelect) => boolean,
  timeoutMs = 10_000,
) {
  const db = harness.server.deps.database.db;
  let row: typeof brokerOrders.$inferSelect | undefined;
  await waitFor(
    async () => {
      [row] = await db.select().from(brokerOrders).where(eq(brokerOrders.id, orderId));
      return row !== undefined && done(row);
    },
    timeoutMs,
    25,
  );
  if (!row) throw new Error(`order ${orderId} not found`);
  return row;
}

/** The fills recorded for an order, as canonical [quantity, price, commission] triples in the order recorded. */
export async function fillsOf(harness: ExecutionHarness, orderId: number) {
  const db = harness.server.deps.database.db;
  const rows = await db.select().from(fills).where(eq(fills.brokerOrderId, orderId)).orderBy(fills.id);
  return rows.map((f) => [canonical(f.quantity), canonical(f.price), canonical(f.commission)]);
}
