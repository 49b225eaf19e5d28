/**
 * Bracket legs as child orders (SPEC §5): the take-profit and stop-loss exits a broker creates under an entry are
 * orders of their own there, and a stop that triggers changes the position. The poller records each leg it sees as
 * a `bracket_exit` row under the entry (unique per connection and broker order id, so pollers racing insert it once)
 * and starts its own status polling, so a leg's fill reaches the books like any other fill.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import type { BrokerOrder } from '../../brokers/types.ts';
import type { Database } from '../../db/client.ts';
import type { OrderRow } from './submit-order.ts';

/** Inserts the legs not yet recorded; returns the ids of the rows it created. */
export async function recordBracketLegs(db: Database, entry: OrderRow, legs: BrokerOrder[]): Promise<number[]> {
  if (legs.length === 0) return [];
  const known = await db
    .select({ brokerOrderId: brokerOrders.brokerOrderId })
    .from(brokerOrders)
    .where(
      and(
        eq(brokerOrders.brokerConnectionId, entry.brokerConnectionId),
        inArray(
          brokerOrders.brokerOrderId,
          legs.map((leg) => leg.brokerOrderId),
        ),
      ),
    );
  const seen = new Set(known.map((row) => row.brokerOrderId));
  const created: number[] = [];
  for (const leg of legs) {
    if (seen.has(leg.brokerOrderId)) continue;
    const [result] = await db
      .insert(brokerOrders)
      .ignore()
      .values({
        userId: entry.userId,
        strategyId: entry.strategyId,
        brokerConnectionId: entry.brokerConnectionId,
        // No webhook log: a resting exit must not keep its entry's log `executing` for days.
        webhookLogId: null,
        parentOrderId: entry.id,
        brokerOrderId: leg.brokerOrderId,
        symbol: entry.symbol,
        brokerSymbol: entry.brokerSymbol,
        side: leg.side,
        intent: 'bracket_exit',
        orderType: leg.orderType,
        tif: entry.tif,
        quantity: leg.quantity,
        limitPrice: leg.limitPrice,
        stopPrice: leg.stopPrice,
        // At the broker already: never `pending`, which would make it look like ours to send.
        status: leg.status === 'pending' ? 'submitted' : leg.status,
        brokerStatus: leg.brokerStatus.slice(0, 32),
        submittedAt: leg.submittedAt ?? new Date(),
      });
    if (result.affectedRows === 1) created.push(result.insertId);
  }
  return created;
}
