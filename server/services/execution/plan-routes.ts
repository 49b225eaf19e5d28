/**
 * One outcome per routing rule (SPEC §5 routing), inside the engine's transaction: the orders it wrote, the working
 * orders a `cancel` asks to cancel, or why it placed nothing. The position each route is planned against includes
 * the strategy's working orders (./routes.ts effectivePosition), so a second buy does not open a second position
 * while the first order is still on its way; working entries the signal contradicts (a resting buy when an exit or
 * a sell arrives) are left out of it and cancelled instead (./routes.ts contradictedEntries).
 */
import { inArray, sql } from 'drizzle-orm';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import type { ExecutionIgnoreReason, ExecutionRejectionCode } from '#shared/execution.ts';
import type { Signal } from '#shared/schemas/signal.ts';
import type { Transaction } from '../../db/transaction.ts';
import type { StrategyRow } from './execute-signal.ts';
import { instrumentOnBroker } from './instruments.ts';
import { insertedOrderRow, type OrderInsert, orderRow, orderTerms } from './order-rows.ts';
import { type PlannedLeg, planRoute } from './plan.ts';
import {
  brokerSymbolFor,
  contradictedEntries,
  type ExecutionRoute,
  effectivePosition,
  type PositionBook,
  readPositionBook,
  workingBracketExits,
} from './routes.ts';
import type { OrderRow } from './submit-order.ts';

/** `cancels` of an `orders` outcome: working entries the signal contradicts, cancelled before its orders go out. */
export type RouteOutcome = { connectionId: number; symbol: string | null } & (
  | { kind: 'orders'; orderIds: number[]; rows: OrderRow[]; cancels: number[]; note?: string }
  | { kind: 'cancel'; orderIds: number[] }
  | { kind: 'ignored'; reason: ExecutionIgnoreReason; message: string }
  | { kind: 'rejected'; code: ExecutionRejectionCode; message: string }
);

export interface PlanRoutesInput {
  strategy: StrategyRow;
  signal: Signal;
  routes: ExecutionRoute[];
  equity: Map<number, string>;
  webhookLogId: number;
}

export async function planRoutes(tx: Transaction, input: PlanRoutesInput): Promise<RouteOutcome[]> {
  const outcomes: RouteOutcome[] = [];
  for (const route of input.routes) outcomes.push(await planOne(tx, input, route));
  return outcomes;
}

/** Why a route cannot trade at all, before any position is looked at. */
function routeBlocked(strategy: StrategyRow, route: ExecutionRoute, ticker: string) {
  if (route.environment === 'live' && !strategy.liveEnabledAt) {
    return {
      code: 'live-not-enabled' as const,
      message: `Connection ${route.connectionId} is a live account and the strategy is not enabled for live trading`,
    };
  }
  if (route.connectionStatus === 'expired') {
    return {
      code: 'broker-session-expired' as const,
      message: `The ${route.broker} session of connection ${route.connectionId} has expired: sign in again to trade ${ticker}`,
    };
  }
  if (route.connectionStatus === 'disconnected') {
    return {
      code: 'connection-disconnected' as const,
      message: `Connection ${route.connectionId} is disconnected: reconnect it to trade ${ticker}`,
    };
  }
  return undefined;
}

async function planOne(tx: Transaction, input: PlanRoutesInput, route: ExecutionRoute): Promise<RouteOutcome> {
  const { strategy, signal } = input;
  const symbol = brokerSymbolFor(signal.ticker, route.symbolMap);
  const base = { connectionId: route.connectionId, symbol };
  if (symbol === null) {
    const message = `${signal.ticker} is a continuous future: map it to a contract (e.g. MNQZ5) in the routing rule for connection ${route.connectionId}`;
    return { ...base, kind: 'rejected', code: 'unmapped-symbol', message };
  }
  const blocked = routeBlocked(strategy, route, signal.ticker);
  if (blocked) return { ...base, kind: 'rejected', ...blocked };

  const key = { strategyId: strategy.id, connectionId: route.connectionId, symbol };
  const book = await readPositionBook(tx, key);
  if (signal.action === 'cancel') return cancelOutcome(base, key, book);
  const instrument = await instrumentOnBroker(tx, route.broker, symbol);
  const contradicted = contradictedEntries(book, signal);
  const plan = planRoute({
    signal,
    position: effectivePosition(book, contradicted),
    rules: strategy,
    sizing: strategy,
    routeMultiplier: route.quantityMultiplier,
    instrument,
    equity: input.equity.get(route.connectionId),
    symbol,
  });
  if (plan.kind === 'cancel') return cancelOutcome(base, key, book);
  // Nothing filled to close (or to reverse from), but the entries the signal contradicts still go.
  if (plan.kind === 'ignored' && contradicted.length > 0) return { ...base, kind: 'cancel', orderIds: contradicted };
  if (plan.kind === 'ignored') return { ...base, kind: 'ignored', reason: plan.reason, message: plan.message };
  if (plan.kind === 'rejected') return { ...base, kind: 'rejected', code: plan.code, message: plan.message };

  const first = plan.legs[0] as PlannedLeg;
  const terms = orderTerms(signal, strategy, instrument.tickSize, first.side);
  if (!terms.ok) return { ...base, kind: 'rejected', code: terms.code, message: terms.message };
  const common = {
    userId: strategy.userId,
    strategyId: strategy.id,
    brokerConnectionId: route.connectionId,
    webhookLogId: input.webhookLogId,
    symbol: signal.ticker,
    brokerSymbol: symbol,
  };
  const orderIds: number[] = [];
  const rows: OrderRow[] = [];
  const now = new Date();
  for (const leg of plan.legs) {
    // A reversal's opening leg waits for its closing leg: it names it as parent.
    const row: OrderInsert = { ...orderRow(common, leg, terms), parentOrderId: orderIds[0] ?? null };
    const [inserted] = await tx.insert(brokerOrders).values(row).$returningId();
    if (!inserted) throw new Error('order insert returned no id');
    orderIds.push(inserted.id);
    rows.push(insertedOrderRow(row, inserted.id, now));
  }
  await tx
    .update(brokerOrders)
    .set({ clientOrderId: sql`CONCAT('fp-', ${brokerOrders.id})` })
    .where(inArray(brokerOrders.id, orderIds));
  const closes = plan.legs.some((leg) => CLOSING_INTENTS.has(leg.intent));
  const cancels = closes ? [...contradicted, ...workingBracketExits(book)] : contradicted;
  return { ...base, kind: 'orders', orderIds, rows, cancels, ...(plan.note ? { note: plan.note } : {}) };
}

/** Legs that take away from the position. */
const CLOSING_INTENTS = new Set<PlannedLeg['intent']>(['close', 'reduce', 'reverse_close']);

function cancelOutcome(
  base: { connectionId: number; symbol: string | null },
  key: { strategyId: number; connectionId: number; symbol: string },
  book: PositionBook,
): RouteOutcome {
  const working = book.working.map((order) => order.id);
  if (working.length === 0) {
    const message = `cancel: no working ${key.symbol} order of this strategy on connection ${key.connectionId}`;
    return { ...base, kind: 'ignored', reason: 'no-working-orders', message };
  }
  return { ...base, kind: 'cancel', orderIds: working };
}
