/**
 * portfolio.getTrades: the caller's live trades, newest entry first, each joined in the same query to its strategy's
 * and connection's names (no lookup per row). Pages are keyed on (entry_date, id) like brokers.getOrders: the cursor
 * is the last trade's id and the next page starts strictly below that trade's (entry_date, id), so rows inserted
 * while a client pages never make a page repeat or skip a row that was there when it started.
 * Served by trades_user_id_entry_date_idx (user_id, entry_date, and the primary key InnoDB appends); with a strategy,
 * MySQL may prefer trades_strategy_id_entry_date_exit_date_idx.
 */
import { and, desc, eq, gte, isNull, lt, or, type SQL } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import { strategies } from '#drizzle/schema/strategies.ts';
import { trades } from '#drizzle/schema/trades.ts';
import type { Page } from '#shared/pagination.ts';
import type { GetTradesInput, TradeView } from '#shared/schemas/portfolio.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { toPage } from '../pagination.ts';
import { shortest } from './decimals.ts';

export function tradesQuery(db: DbOrTx, userId: number, input: GetTradesInput, below: SQL | undefined) {
  return db
    .select({
      id: trades.id,
      strategyId: trades.strategyId,
      strategyName: strategies.name,
      brokerConnectionId: trades.brokerConnectionId,
      connectionName: brokerConnections.name,
      symbol: trades.symbol,
      side: trades.side,
      status: trades.status,
      quantity: trades.quantity,
      entryPrice: trades.entryPrice,
      exitPrice: trades.exitPrice,
      entryDate: trades.entryDate,
      exitDate: trades.exitDate,
      pnl: trades.pnl,
      pnlPercent: trades.pnlPercent,
      fees: trades.fees,
    })
    .from(trades)
    .innerJoin(strategies, eq(strategies.id, trades.strategyId))
    .innerJoin(brokerConnections, eq(brokerConnections.id, trades.brokerConnectionId))
    .where(
      and(
        eq(trades.userId, userId),
        isNull(trades.deletedAt),
        input.strategyId === undefined ? undefined : eq(trades.strategyId, input.strategyId),
        input.symbol === undefined ? undefined : eq(trades.symbol, input.symbol),
        input.status === undefined ? undefined : eq(trades.status, input.status),
        input.from === undefined ? undefined : gte(trades.entryDate, input.from),
        input.to === undefined ? undefined : lt(trades.entryDate, input.to),
        below,
      ),
    )
    .orderBy(desc(trades.entryDate), desc(trades.id))
    .limit(input.limit + 1);
}

export async function listTrades(ctx: ServiceContext, input: GetTradesInput): Promise<Page<TradeView>> {
  const userId = actingUserId(ctx);
  let below: SQL | undefined;
  if (input.cursor !== undefined) {
    // Deleted trades included: a trade deleted while the client pages still marks where the next page starts.
    const [cursor] = await ctx.db
      .select({ entryDate: trades.entryDate })
      .from(trades)
      .where(and(eq(trades.id, input.cursor), eq(trades.userId, userId)));
    if (!cursor) return { items: [], nextCursor: null };
    below = or(
      lt(trades.entryDate, cursor.entryDate),
      and(eq(trades.entryDate, cursor.entryDate), lt(trades.id, input.cursor)),
    );
  }
  const rows = await tradesQuery(ctx.db, userId, input, below);
  const page = toPage(rows, input);
  return { items: page.items.map(tradeView), nextCursor: page.nextCursor };
}

const optional = (value: string | null) => (value === null ? null : shortest(value));

function tradeView(row: Awaited<ReturnType<typeof tradesQuery>>[number]): TradeView {
  return {
    ...row,
    quantity: shortest(row.quantity),
    entryPrice: shortest(row.entryPrice),
    exitPrice: optional(row.exitPrice),
    pnl: optional(row.pnl),
    pnlPercent: optional(row.pnlPercent),
    fees: shortest(row.fees),
  };
}
