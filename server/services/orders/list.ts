import { and, desc, eq, gte, lt, or, type SQL } from 'drizzle-orm';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import type { Page } from '#shared/pagination.ts';
import type { BrokerOrderView, GetOrdersInput } from '#shared/schemas/brokers.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { toPage } from '../pagination.ts';

/** Every column of an order is the trader's to see: credentials live on the connection, never here. */
const orderColumns = {
  id: brokerOrders.id,
  strategyId: brokerOrders.strategyId,
  brokerConnectionId: brokerOrders.brokerConnectionId,
  webhookLogId: brokerOrders.webhookLogId,
  tradeId: brokerOrders.tradeId,
  parentOrderId: brokerOrders.parentOrderId,
  clientOrderId: brokerOrders.clientOrderId,
  brokerOrderId: brokerOrders.brokerOrderId,
  symbol: brokerOrders.symbol,
  brokerSymbol: brokerOrders.brokerSymbol,
  side: brokerOrders.side,
  intent: brokerOrders.intent,
  orderType: brokerOrders.orderType,
  tif: brokerOrders.tif,
  quantity: brokerOrders.quantity,
  limitPrice: brokerOrders.limitPrice,
  stopPrice: brokerOrders.stopPrice,
  takeProfitPrice: brokerOrders.takeProfitPrice,
  stopLossPrice: brokerOrders.stopLossPrice,
  status: brokerOrders.status,
  brokerStatus: brokerOrders.brokerStatus,
  filledQty: brokerOrders.filledQty,
  avgFillPrice: brokerOrders.avgFillPrice,
  commission: brokerOrders.commission,
  attempts: brokerOrders.attempts,
  lastError: brokerOrders.lastError,
  submittedAt: brokerOrders.submittedAt,
  filledAt: brokerOrders.filledAt,
  createdAt: brokerOrders.createdAt,
  updatedAt: brokerOrders.updatedAt,
};

/**
 * brokers.getOrders: the caller's orders, newest first, walking broker_orders_user_id_created_at_idx (user_id,
 * created_at, and the primary key InnoDB appends). Ids and created_at need not agree (a transaction that inserts
 * later may have started earlier), so pages are keyed on (created_at, id): the cursor is the last order's id, and
 * the next page starts below that order's (created_at, id), so pages never overlap or skip, however rows interleave.
 * A cursor that is not one of the caller's orders ends the list. Filters of another user's ids match nothing.
 */
export async function listOrders(ctx: ServiceContext, input: GetOrdersInput): Promise<Page<BrokerOrderView>> {
  const userId = actingUserId(ctx);
  let below: SQL | undefined;
  if (input.cursor !== undefined) {
    const [cursor] = await ctx.db
      .select({ createdAt: brokerOrders.createdAt })
      .from(brokerOrders)
      .where(and(eq(brokerOrders.id, input.cursor), eq(brokerOrders.userId, userId)));
    if (!cursor) return { items: [], nextCursor: null };
    below = or(
      lt(brokerOrders.createdAt, cursor.createdAt),
      and(eq(brokerOrders.createdAt, cursor.createdAt), lt(brokerOrders.id, input.cursor)),
    );
  }
  const rows = await ctx.db
    .select(orderColumns)
    .from(brokerOrders)
    .where(
      and(
        eq(brokerOrders.userId, userId),
        input.strategyId === undefined ? undefined : eq(brokerOrders.strategyId, input.strategyId),
        input.connectionId === undefined ? undefined : eq(brokerOrders.brokerConnectionId, input.connectionId),
        input.status === undefined ? undefined : eq(brokerOrders.status, input.status),
        input.symbol === undefined
          ? undefined
          : or(eq(brokerOrders.symbol, input.symbol), eq(brokerOrders.brokerSymbol, input.symbol)),
        input.from === undefined ? undefined : gte(brokerOrders.createdAt, input.from),
        input.to === undefined ? undefined : lt(brokerOrders.createdAt, input.to),
        below,
      ),
    )
    .orderBy(desc(brokerOrders.createdAt), desc(brokerOrders.id))
    .limit(input.limit + 1);
  return toPage(rows, input);
}
