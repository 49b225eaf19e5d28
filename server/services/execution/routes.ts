/**
 * Where a strategy's signal goes (SPEC §5 routing): its active routing rules with their live broker connections,
 * lowest priority first, and the broker symbol each connection trades for the alert's ticker.
 */
import { Big } from 'big.js';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import { openPositions } from '#drizzle/schema/open_positions.ts';
import { routingRules } from '#drizzle/schema/routing_rules.ts';
import type { Broker, BrokerEnvironment, ConnectionStatus, OrderIntent } from '#shared/enums.ts';
import type { Signal } from '#shared/schemas/signal.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { DbOrTx } from '../../db/transaction.ts';

export interface ExecutionRoute {
  ruleId: number;
  connectionId: number;
  broker: Broker;
  environment: BrokerEnvironment;
  connectionStatus: ConnectionStatus;
  quantityMultiplier: string;
  symbolMap: Record<string, string> | null;
  /** The connection's sealed credentials: the job sends the signal's orders through them without reading them again. */
  credentialsEnc: string;
}

export async function loadRoutes(db: DbOrTx, strategyId: number): Promise<ExecutionRoute[]> {
  return db
    .select({
      ruleId: routingRules.id,
      connectionId: brokerConnections.id,
      broker: brokerConnections.broker,
      environment: brokerConnections.environment,
      connectionStatus: brokerConnections.status,
      quantityMultiplier: routingRules.quantityMultiplier,
      symbolMap: routingRules.symbolMap,
      credentialsEnc: brokerConnections.credentialsEnc,
    })
    .from(routingRules)
    .innerJoin(brokerConnections, eq(brokerConnections.id, routingRules.brokerConnectionId))
    .where(
      and(
        eq(routingRules.strategyId, strategyId),
        eq(routingRules.isActive, true),
        notDeleted(routingRules),
        notDeleted(brokerConnections),
      ),
    )
    .orderBy(asc(routingRules.priority), asc(routingRules.id));
}

/** TradingView's continuous futures (`MNQ1!`, `ES2!`) name no tradable contract: they need a symbol_map entry. */
const CONTINUOUS_FUTURE = /\d!$/;

/** The broker symbol for `ticker` on this route, or null when it cannot be traded without a mapping. */
export function brokerSymbolFor(ticker: string, symbolMap: Record<string, string> | null): string | null {
  const mapped = symbolMap?.[ticker] ?? symbolMap?.[ticker.toUpperCase()];
  if (mapped) return mapped;
  return CONTINUOUS_FUTURE.test(ticker) ? null : ticker;
}

/** Orders still able to change the position: they count toward it so a second signal does not double it. */
export const WORKING_ORDER_STATUSES = ['pending', 'submitting', 'submitted', 'accepted', 'partially_filled'] as const;

export interface PositionKey {
  strategyId: number;
  connectionId: number;
  /** The broker symbol, as positions and orders store it. */
  symbol: string;
}

/** A working order as the planner sees it. */
export interface WorkingOrder {
  id: number;
  side: 'buy' | 'sell';
  intent: OrderIntent;
  quantity: string;
  filledQty: string;
}

/** What a signal on one key is planned against: the position its fills made, and the strategy's working orders. */
export interface PositionBook {
  /** Signed (negative = short). */
  held: string;
  working: WorkingOrder[];
}

/**
 * Read in the caller's transaction after it locked the strategy, so signals of one strategy are planned one after
 * the other and see each other's orders. Two reads: the position row, and the working orders through broker_orders'
 * strategy index.
 */
export async function readPositionBook(db: DbOrTx, key: PositionKey): Promise<PositionBook> {
  const [held] = await db
    .select({
      signed: sql<string>`COALESCE(SUM(CASE WHEN ${openPositions.side} = 'long' THEN ${openPositions.quantity} ELSE -${openPositions.quantity} END), 0)`,
    })
    .from(openPositions)
    .where(
      and(
        eq(openPositions.strategyId, key.strategyId),
        eq(openPositions.brokerConnectionId, key.connectionId),
        eq(openPositions.symbol, key.symbol),
      ),
    );
  const working = await db
    .select({
      id: brokerOrders.id,
      side: brokerOrders.side,
      intent: brokerOrders.intent,
      quantity: brokerOrders.quantity,
      filledQty: brokerOrders.filledQty,
    })
    .from(brokerOrders)
    .where(
      and(
        eq(brokerOrders.strategyId, key.strategyId),
        eq(brokerOrders.brokerConnectionId, key.connectionId),
        eq(brokerOrders.brokerSymbol, key.symbol),
        inArray(brokerOrders.status, [...WORKING_ORDER_STATUSES]),
      ),
    );
  return { held: held?.signed ?? '0', working };
}

/**
 * The position a new signal is planned against, signed: what fills made it, plus what the working orders will
 * still add or remove (quantity − filled), except the orders in `without` (those the signal cancels) and bracket
 * exits (one-cancels-other alternatives that close the position: they do not add to it).
 */
export function effectivePosition(book: PositionBook, without: number[] = []): string {
  let position = new Big(book.held);
  for (const order of book.working) {
    if (order.intent === 'bracket_exit' || without.includes(order.id)) continue;
    const remaining = new Big(order.quantity).minus(order.filledQty);
    position = order.side === 'buy' ? position.plus(remaining) : position.minus(remaining);
  }
  return position.toFixed();
}

const OPENING_INTENTS: OrderIntent[] = ['open', 'add', 'reverse_open'];

/** Which working entries a signal contradicts: any for a close (exit, sentiment flat), the other side's for buy/sell. */
function contradictedSide(signal: Signal): 'buy' | 'sell' | 'any' | null {
  if (signal.action === 'exit' || signal.sentiment === 'flat') return 'any';
  // A target counts the orders in flight toward it; add and cancel contradict no entry.
  if (signal.positionSize !== undefined) return null;
  if (signal.action === 'buy') return 'sell';
  return signal.action === 'sell' ? 'buy' : null;
}

/**
 * The strategy's working entries (open, add, reverse_open) on this key that the signal contradicts: a resting buy
 * limit when an exit or a sell arrives. The signal cancels them and is planned without them, so its closing leg only
 * closes what filled: counting a resting entry as held would sell shares not bought yet, and leave a strategy that
 * never shorts short at the broker while the entry rests.
 */
export function contradictedEntries(book: PositionBook, signal: Signal): number[] {
  const side = contradictedSide(signal);
  if (side === null) return [];
  return book.working
    .filter((order) => OPENING_INTENTS.includes(order.intent) && (side === 'any' || order.side === side))
    .map((order) => order.id);
}

/**
 * The position's resting take-profit and stop-loss exits on this key. A signal that closes or reduces the position
 * cancels them: left working, they would sell again what the signal's own order already sold.
 */
export function workingBracketExits(book: PositionBook): number[] {
  return book.working.filter((order) => order.intent === 'bracket_exit').map((order) => order.id);
}
