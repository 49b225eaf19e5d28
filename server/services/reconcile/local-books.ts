/** What Fillpath holds and has working on one connection: the local side of a reconciliation. */
import { and, eq, inArray, ne } from 'drizzle-orm';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import { openPositions } from '#drizzle/schema/open_positions.ts';
import { ORDER_STATUSES, type OrderStatus, TERMINAL_ORDER_STATUSES } from '#shared/enums.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import { canonical } from '../execution/position-math.ts';
import type { LocalHolding, LocalOrder } from './compare.ts';

const TERMINAL = new Set<string>(TERMINAL_ORDER_STATUSES);
/** Listed rather than negated, so the (broker_connection_id, status, updated_at) index serves the lookup. */
export const WORKING_ORDER_STATUSES: OrderStatus[] = ORDER_STATUSES.filter((status) => !TERMINAL.has(status));

/** Every strategy's open position on the connection (open_positions_broker_connection_id_symbol_idx), signed. */
export async function holdingsOf(db: DbOrTx, connectionId: number): Promise<LocalHolding[]> {
  const rows = await db
    .select({
      strategyId: openPositions.strategyId,
      symbol: openPositions.symbol,
      side: openPositions.side,
      quantity: openPositions.quantity,
    })
    .from(openPositions)
    .where(and(eq(openPositions.brokerConnectionId, connectionId), ne(openPositions.quantity, '0')));
  return rows.map((row) => ({
    strategyId: row.strategyId,
    symbol: row.symbol,
    quantity: canonical(row.side === 'short' ? `-${row.quantity}` : row.quantity),
  }));
}

/** The connection's orders that the broker may still change, oldest first. */
export async function workingOrdersOf(db: DbOrTx, connectionId: number): Promise<LocalOrder[]> {
  return db
    .select({
      id: brokerOrders.id,
      brokerSymbol: brokerOrders.brokerSymbol,
      brokerOrderId: brokerOrders.brokerOrderId,
      status: brokerOrders.status,
    })
    .from(brokerOrders)
    .where(and(eq(brokerOrders.brokerConnectionId, connectionId), inArray(brokerOrders.status, WORKING_ORDER_STATUSES)))
    .orderBy(brokerOrders.id);
}

/** Orders by id (the ones a run changed), as the comparison sees them. */
export async function ordersByIds(db: DbOrTx, orderIds: number[]): Promise<LocalOrder[]> {
  if (orderIds.length === 0) return [];
  return db
    .select({
      id: brokerOrders.id,
      brokerSymbol: brokerOrders.brokerSymbol,
      brokerOrderId: brokerOrders.brokerOrderId,
      status: brokerOrders.status,
    })
    .from(brokerOrders)
    .where(inArray(brokerOrders.id, orderIds));
}

/** Which of these broker order ids Fillpath placed or tracks on the connection. */
export async function knownBrokerOrderIds(
  db: DbOrTx,
  connectionId: number,
  brokerOrderIds: string[],
): Promise<Set<string>> {
  if (brokerOrderIds.length === 0) return new Set();
  const rows = await db
    .select({ brokerOrderId: brokerOrders.brokerOrderId })
    .from(brokerOrders)
    .where(and(eq(brokerOrders.brokerConnectionId, connectionId), inArray(brokerOrders.brokerOrderId, brokerOrderIds)));
  return new Set(rows.flatMap((row) => (row.brokerOrderId ? [row.brokerOrderId] : [])));
}
