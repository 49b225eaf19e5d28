/**
 * For fault tests that trade through a real worker: strategies routed one each to its own fake Alpaca account, and
 * the checks that hold once the dust settles — every log final, no client order id sent twice, every broker order
 * one local row filled alike, every position equal to its fake account's.
 */
import { Big } from 'big.js';
import { inArray } from 'drizzle-orm';
import { brokerOrders } from '../../drizzle/schema/broker_orders.ts';
import { openPositions } from '../../drizzle/schema/open_positions.ts';
import { webhookLogs } from '../../drizzle/schema/webhook_logs.ts';
import type { Database } from '../../server/db/client.ts';
import { TERMINAL_ORDER_STATUSES, type WebhookLogStatus } from '../../shared/enums.ts';
import { type FakeAlpaca, startFakeAlpaca } from '../fakes/alpaca.ts';
import { signUp } from './client.ts';
import { rememberSecret } from './secrets.ts';

export const FAULT_SYMBOL = 'AAPL';
/** Not final: `received` (not planned yet), `executing` (orders on their way), `staged` (never in auto mode). */
export const OPEN_LOG_STATUSES: WebhookLogStatus[] = ['received', 'executing', 'staged'];
const TERMINAL_ORDER = new Set<string>(TERMINAL_ORDER_STATUSES);

export interface RoutedAccount {
  strategyId: number;
  keyId: string;
  token: string;
}

const keyIdOf = (tag: string, n: number) => `PK${tag.toUpperCase()}FAULT${String(n).padStart(6, '0')}`;
const secretOf = (tag: string, n: number) => `${tag}-fault-secret-${String(n).padStart(6, '0')}`;

/** A fake Alpaca holding `count` funded accounts, for the routes routeStrategies() creates. */
export async function startFundedAlpaca(tag: string, count: number): Promise<FakeAlpaca> {
  const accounts = Array.from({ length: count }, (_, n) => ({
    keyId: keyIdOf(tag, n),
    secret: secretOf(tag, n),
    cash: '1000000',
  }));
  rememberSecret(...accounts.map((account) => account.secret));
  return startFakeAlpaca({ accounts, prices: { [FAULT_SYMBOL]: '100' } });
}

/** One trader on the api at `baseUrl`, with `count` strategies each routed to its own account of the fake. */
export async function routeStrategies(baseUrl: string, tag: string, count: number): Promise<RoutedAccount[]> {
  const trader = await signUp(baseUrl);
  const routed: RoutedAccount[] = [];
  for (let n = 0; n < count; n++) {
    const connection = await trader.client.brokers.connect.mutate({
      broker: 'alpaca',
      name: `${tag} account ${n}`,
      environment: 'paper',
      credentials: { keyId: keyIdOf(tag, n), secretKey: secretOf(tag, n) },
    });
    // The highest budget the schema allows: a test's stream must never meet the rate limit.
    const created = await trader.client.strategies.create.mutate({
      name: `${tag} strategy ${n}`,
      ratePerMinute: 600,
      ratePerHour: 10_000,
    });
    rememberSecret(created.webhookToken);
    await trader.client.routing.create.mutate({ strategyId: created.strategy.id, brokerConnectionId: connection.id });
    routed.push({ strategyId: created.strategy.id, keyId: keyIdOf(tag, n), token: created.webhookToken });
  }
  return routed;
}

/** Logs and orders not final yet, as one comparable string ('' once everything settled). */
export async function unsettled(db: Database, logIds: number[]): Promise<string> {
  if (logIds.length === 0) return '';
  const logs = await db
    .select({ id: webhookLogs.id, status: webhookLogs.status })
    .from(webhookLogs)
    .where(inArray(webhookLogs.id, logIds));
  const orders = await db
    .select({ id: brokerOrders.id, status: brokerOrders.status })
    .from(brokerOrders)
    .where(inArray(brokerOrders.webhookLogId, logIds));
  const missing = logIds.length - logs.length;
  return [
    ...(missing > 0 ? [`${missing} logs missing`] : []),
    ...logs.filter((row) => OPEN_LOG_STATUSES.includes(row.status)).map((row) => `log ${row.id} ${row.status}`),
    ...orders.filter((row) => !TERMINAL_ORDER.has(row.status)).map((row) => `order ${row.id} ${row.status}`),
  ].join(', ');
}

/** Waits until unsettled() is '' or `timeoutMs` passes; resolves with what is still open ('' when nothing). */
export async function settle(db: Database, logIds: number[], timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let open = await unsettled(db, logIds);
  while (open !== '' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    open = await unsettled(db, logIds);
  }
  return open;
}

/**
 * What is wrong with the books, one line per problem ([] when nothing): a client order id sent twice to the fake,
 * a broker order without its local row, a local order sent but missing or filled differently there, a position
 * that differs from the fake account's.
 */
export async function bookProblems(db: Database, alpaca: FakeAlpaca, routed: RoutedAccount[]): Promise<string[]> {
  const problems: string[] = [];
  const atBroker = alpaca.state.engine.orders;
  const perClientId = new Map<string, number>();
  for (const order of atBroker) {
    const id = String(order.clientOrderId);
    perClientId.set(id, (perClientId.get(id) ?? 0) + 1);
  }
  for (const [id, n] of perClientId) if (n > 1) problems.push(`client order id ${id} sent ${n} times`);

  const strategyIds = routed.map((r) => r.strategyId);
  const orders = await db.select().from(brokerOrders).where(inArray(brokerOrders.strategyId, strategyIds));
  const local = new Map(orders.map((order) => [order.clientOrderId, order]));
  for (const order of atBroker) {
    if (local.get(order.clientOrderId)?.brokerOrderId !== order.id) {
      problems.push(`broker order ${order.clientOrderId} (${order.id}) without its local row`);
    }
  }
  const remote = new Map(atBroker.map((order) => [order.clientOrderId, order]));
  for (const order of orders) {
    const there = remote.get(order.clientOrderId);
    // An order cancelled before it was sent (an opposite signal cancels a contradicted entry) never reaches it.
    if (!there && !(order.status === 'cancelled' && order.brokerOrderId === null)) {
      problems.push(`local order ${order.id} ${order.status} never reached the broker`);
    } else if (there && (there.id !== order.brokerOrderId || !new Big(there.filledQty).eq(order.filledQty))) {
      problems.push(`local order ${order.id} filled ${order.filledQty}, ${there.filledQty} at the broker`);
    }
  }

  const positions = await db.select().from(openPositions).where(inArray(openPositions.strategyId, strategyIds));
  const held = new Map(
    positions.map((p) => [p.strategyId, p.side === 'short' ? new Big(p.quantity).neg() : new Big(p.quantity)]),
  );
  const accountOf = new Map(alpaca.state.accounts.map((account) => [account.keyId, account.id]));
  for (const strategy of routed) {
    const position = held.get(strategy.strategyId) ?? new Big(0);
    const book = alpaca.state.engine.account(accountOf.get(strategy.keyId) as string).positions.get(FAULT_SYMBOL);
    const atAccount = new Big(book?.qty ?? '0');
    if (!position.eq(atAccount)) {
      problems.push(`strategy ${strategy.strategyId}: position ${position}, broker account ${atAccount}`);
    }
  }
  return problems;
}

/** How many logs of `logIds` ended in each status. */
export async function logStatusCounts(db: Database, logIds: number[]): Promise<Record<string, number>> {
  if (logIds.length === 0) return {};
  const rows = await db.select({ status: webhookLogs.status }).from(webhookLogs).where(inArray(webhookLogs.id, logIds));
  const counts: Record<string, number> = {};
  for (const row of rows) counts[row.status] = (counts[row.status] ?? 0) + 1;
  return counts;
}

/**
 * Logs of `logIds` that did not end as a signal should: `executed`, `ignored` by the position rules, or `failed`
 * only because each of its orders was cancelled before it reached the broker (an opposite signal racing it cancels
 * a contradicted entry). Each as one line with its error and its orders, [] when none.
 */
export async function unexpectedEndings(db: Database, logIds: number[]): Promise<string[]> {
  if (logIds.length === 0) return [];
  const logs = await db
    .select({
      id: webhookLogs.id,
      status: webhookLogs.status,
      code: webhookLogs.errorCode,
      why: webhookLogs.errorMessage,
    })
    .from(webhookLogs)
    .where(inArray(webhookLogs.id, logIds));
  const failed = logs.filter((log) => log.status === 'failed').map((log) => log.id);
  const orders = failed.length
    ? await db.select().from(brokerOrders).where(inArray(brokerOrders.webhookLogId, failed))
    : [];
  const ordersOf = (id: number) => orders.filter((order) => order.webhookLogId === id);
  const cancelledUnsent = (id: number) =>
    ordersOf(id).length > 0 &&
    ordersOf(id).every((order) => order.status === 'cancelled' && order.brokerOrderId === null);
  return logs
    .filter((log) => log.status !== 'executed' && log.status !== 'ignored')
    .filter((log) => !(log.status === 'failed' && cancelledUnsent(log.id)))
    .map((log) => {
      const own = ordersOf(log.id).map((o) => `order ${o.id} ${o.status} (${o.lastError ?? 'no error'})`);
      return `log ${log.id} ${log.status} ${log.code ?? ''} ${log.why ?? ''}: ${own.join('; ') || 'no orders'}`;
    });
}
