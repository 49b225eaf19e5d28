/**
 * The whole execution path in one test process: the api (startTestApp), the three fake brokers, and the worker's
 * signals, orders and order-status processors on real queues, all sharing one broker registry pointed at the fakes.
 * `setup()` gives a signed-in trader a strategy routed to a fake broker; `send()` posts an alert to its webhook.
 */
import type { Worker } from 'bullmq';
import { and, eq } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { brokerOrders } from '../../drizzle/schema/broker_orders.ts';
import { openPositions } from '../../drizzle/schema/open_positions.ts';
import { trades } from '../../drizzle/schema/trades.ts';
import { webhookLogs } from '../../drizzle/schema/webhook_logs.ts';
import { BrokerRegistry } from '../../server/brokers/registry.ts';
import { createRedis } from '../../server/jobs/connection.ts';
import { orderStatusProcessor, ordersProcessor } from '../../server/jobs/processors/orders.ts';
import { signalsProcessor } from '../../server/jobs/processors/signals.ts';
import { createWorker } from '../../server/jobs/queue-factory.ts';
import { orderStatusQueue } from '../../server/jobs/queues/order-status.ts';
import { ordersQueue } from '../../server/jobs/queues/orders.ts';
import { signalsQueue } from '../../server/jobs/queues/signals.ts';
import { env } from '../../server/lib/env.ts';
import { logger } from '../../server/lib/logger.ts';
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

export async function startExecutionHarness(): Promise<ExecutionHarness> {
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
  });
  const server = await startTestApp({ brokers: registry });
  rememberSecret('fake-secret', 'fake-password', 'fake-sec');
  const consumer: Redis = createRedis(env.REDIS_URL, 'worker', logger);
  const sources = { database: server.deps.database, log: logger, registry, queues: server.queues };
  const workers: Worker[] = [
    createWorker(signalsQueue, signalsProcessor(sources), consumer, logger),
    createWorker(ordersQueue, ordersProcessor(sources), consumer, logger),
    createWorker(orderStatusQueue, orderStatusProcessor(sources), consumer, logger),
  ];
  return {
    server,
    alpaca,
    tradovate,
    ibkr,
    registry,
    async close() {
      await Promise.all(workers.map((worker) => worker.close()));
      await consumer.quit();
      await server.close();
      await Promise.all([alpaca.close(), tradovate.close(), ibkr.close()]);
    },
  };
}

export interface RoutedStrategy {
  trader: SignedInUser;
  strategyId: number;
  connectionId: number;
  token: string;
  send(alert: Record<string, unknown>): Promise<AlertAnswer>;
}

let counter = 0;

/** A new trader with an Alpaca paper connection (the fake's default keys) and a strategy routed to it. */
export async function setupAlpacaStrategy(
  harness: ExecutionHarness,
  strategy: Partial<CreateStrategyInput> = {},
  routing: Partial<CreateRoutingRuleInput> = {},
): Promise<RoutedStrategy> {
  const trader = await signUp(harness.server.url);
  const connection = await trader.client.brokers.connect.mutate({
    broker: 'alpaca',
    name: `Alpaca ${++counter}`,
    environment: 'paper',
    credentials: { keyId: 'PKFAKEKEY0000000001', secretKey: 'fake-secret' },
  });
  const created = await trader.client.strategies.create.mutate({ name: `Strategy ${counter}`, ...strategy });
  rememberSecret(created.webhookToken);
  await trader.client.routing.create.mutate({
    strategyId: created.strategy.id,
    brokerConnectionId: connection.id,
    ...routing,
  });
  const token = created.webhookToken;
  return {
    trader,
    strategyId: created.strategy.id,
    connectionId: connection.id,
    token,
    send: (alert) => postAlert(harness.server.url, token, JSON.stringify(alert)),
  };
}

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

/** The strategy's signed position on the connection and symbol: '0' when flat or never traded. */
export async function positionOf(harness: ExecutionHarness, strategyId: number, symbol: string): Promise<string> {
  const db = harness.server.deps.database.db;
  const [row] = await db
    .select()
    .from(openPositions)
    .where(and(eq(openPositions.strategyId, strategyId), eq(openPositions.symbol, symbol)));
  if (!row || Number(row.quantity) === 0) return '0';
  const quantity = String(Number(row.quantity));
  return row.side === 'short' ? `-${quantity}` : quantity;
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
