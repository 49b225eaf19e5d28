/**
 * Where a strategy's signal goes (SPEC §5 routing): its active routing rules with their live broker connections,
 * lowest priority first, and the broker symbol each connection trades for the alert's ticker.
 */
import { Big } from 'big.js';
import { and, asc, eq, inArray, ne, notInArray, type SQL, sql } from 'drizzle-orm';
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

/** The strategy's working orders on this connection and symbol (serves broker_orders' strategy index). */
function workingOn(key: PositionKey): SQL | undefined {
  return and(
    eq(brokerOrders.strategyId, key.strategyId),
    eq(brokerOrders.brokerConnectionId, key.connectionId),
    eq(brokerOrders.brokerSymbol, key.symbol),
    inArray(brokerOrders.status, [...WORKING_ORDER_STATUSES]),
  );
}

/** Ids of the working orders on `key` that also match `where`. */
async function workingOrderIds(db: DbOrTx, key: PositionKey, where?: SQL): Promise<number[]> {
  const rows = await db
    .select({ id: brokerOrders.id })
    .from(brokerOrders)
    .where(and(workingOn(key), where));
  return rows.map((row) => row.id);
}

/** Every working order on `key` (the `cancel` signal). */
export function workingOrders(db: DbOrTx, key: PositionKey): Promise<number[]> {
  return workingOrderIds(db, key);
}

/**
 * The position a new signal is planned against, signed: what fills made it, plus what the strategy's working orders
 * on this connection and symbol will still add or remove (quantity − filled), except the orders in `without` (those
 * the signal cancels). Read in the caller's transaction after it locked the strategy, so signals of one strategy are
 * planned one after the other and see each other's orders.
 */
export async function effectivePosition(db: DbOrTx, key: PositionKey, without: number[] = []): Promise<string> {
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
  const [working] = await db
    .select({
      signed: sql<string>`COALESCE(SUM(CASE WHEN ${brokerOrders.side} = 'buy' THEN ${brokerOrders.quantity} - ${brokerOrders.filledQty} ELSE ${brokerOrders.filledQty} - ${brokerOrders.quantity} END), 0)`,
    })
    .from(brokerOrders)
    .where(
      and(
        workingOn(key),
        // Bracket exits are one-cancels-other alternatives that close the position: they do not add to it.
        ne(brokerOrders.intent, 'bracket_exit'),
        without.length > 0 ? notInArray(brokerOrders.id, without) : undefined,
      ),
    );
  return addDecimals(held?.signed ?? '0', working?.signed ?? '0');
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
export async function contradictedEntries(db: DbOrTx, key: PositionKey, signal: Signal): Promise<number[]> {
  const side = contradictedSide(signal);
  if (side === null) return [];
  return workingOrderIds(
    db,
    key,
    and(inArray(brokerOrders.intent, OPENING_INTENTS), side === 'any' ? undefined : eq(brokerOrders.side, side)),
  );
}

function addDecimals(a: string, b: string): string {
  // Both come from DECIMAL(20,8) sums: exact in MySQL, added here with big.js to stay exact.
  return new Big(a).plus(new Big(b)).toFixed();
}

/**
 * The position's resting take-profit and stop-loss exits on this key. A signal that closes or reduces the position
 * cancels them: left working, they would sell again what the signal's own order already sold.
 */
export function workingBracketExits(db: DbOrTx, key: PositionKey): Promise<number[]> {
  return workingOrderIds(db, key, eq(brokerOrders.intent, 'bracket_exit'));
}
