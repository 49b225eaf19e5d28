/**
 * Open positions with their mark and unrealized P&L. One query joins the position to its strategy, connection and
 * open trade, and finds the position's last fill through that trade's orders (broker_orders_trade_id_idx, then the
 * fills of each order): a position's fills since it left flat all belong to its open trade. The mark is the later of
 * that fill and the broker's price at the last reconciliation (marks.ts).
 */
import { and, desc, eq, lt, ne, sql } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import { fills } from '#drizzle/schema/fills.ts';
import { openPositions } from '#drizzle/schema/open_positions.ts';
import { strategies } from '#drizzle/schema/strategies.ts';
import { trades } from '#drizzle/schema/trades.ts';
import type { Broker } from '#shared/enums.ts';
import type { OpenPositionView } from '#shared/schemas/portfolio.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import type { RedisClient } from '../../lib/redis-client.ts';
import { instrumentOnBroker } from '../execution/instruments.ts';
import { Dec, MONEY_SCALE, roundTo, shortest } from './decimals.ts';
import type { OpenSums } from './figures.ts';
import { brokerMarks, type Mark, markKey } from './marks.ts';

export interface PositionFilter {
  userId: number;
  strategyId?: number;
  /** Positions with a smaller id (keyset pagination, newest first). */
  beforeId?: number;
  limit: number;
}

const lastFillOfTrade = (column: typeof fills.price | typeof fills.filledAt) =>
  sql`(SELECT ${column} FROM ${brokerOrders} INNER JOIN ${fills} ON ${fills.brokerOrderId} = ${brokerOrders.id}
    WHERE ${brokerOrders.tradeId} = ${trades.id} ORDER BY ${fills.filledAt} DESC, ${fills.id} DESC LIMIT 1)`;

/**
 * The caller's non-flat positions, newest first, from strategies_user_id_name_live_uq (user_id prefix) into
 * open_positions_strategy_id_broker_connection_id_symbol_uq. Positions of deleted strategies are still exposure.
 */
export function openPositionsQuery(db: DbOrTx, filter: PositionFilter) {
  return db
    .select({
      id: openPositions.id,
      strategyId: openPositions.strategyId,
      strategyName: strategies.name,
      brokerConnectionId: openPositions.brokerConnectionId,
      connectionName: brokerConnections.name,
      broker: brokerConnections.broker,
      symbol: openPositions.symbol,
      side: openPositions.side,
      quantity: openPositions.quantity,
      avgEntryPrice: openPositions.avgEntryPrice,
      openedAt: openPositions.openedAt,
      tradeId: trades.id,
      tradeDeleted: sql`${trades.deletedAt} IS NOT NULL`.mapWith((value) => Number(value) === 1),
      lastFillPrice: lastFillOfTrade(fills.price).mapWith(String),
      lastFillAt: lastFillOfTrade(fills.filledAt).mapWith((value: Date | string) =>
        value instanceof Date ? value : new Date(`${value.replace(' ', 'T')}Z`),
      ),
    })
    .from(openPositions)
    .innerJoin(strategies, eq(strategies.id, openPositions.strategyId))
    .innerJoin(brokerConnections, eq(brokerConnections.id, openPositions.brokerConnectionId))
    .leftJoin(
      trades,
      and(
        eq(trades.strategyId, openPositions.strategyId),
        eq(trades.status, 'open'),
        eq(trades.brokerConnectionId, openPositions.brokerConnectionId),
        eq(trades.symbol, openPositions.symbol),
      ),
      // A strategy has thousands of closed trades and one open per position: (strategy_id, status) goes straight to
      // it, where the optimizer, with statistics stale after a bulk load, picked the connection or date index and
      // read every trade of the strategy per position (SPEC §12 B3).
      { useIndex: 'trades_strategy_id_status_idx' },
    )
    .where(
      and(
        eq(strategies.userId, filter.userId),
        ne(openPositions.quantity, '0'),
        filter.strategyId === undefined ? undefined : eq(openPositions.strategyId, filter.strategyId),
        filter.beforeId === undefined ? undefined : lt(openPositions.id, filter.beforeId),
      ),
    )
    .orderBy(desc(openPositions.id))
    .limit(filter.limit);
}

/** Valued positions; `redis` reads the broker marks (null: last fills only). */
export async function loadOpenPositions(
  db: DbOrTx,
  redis: RedisClient | null,
  filter: PositionFilter,
): Promise<OpenPositionView[]> {
  const rows = await openPositionsQuery(db, filter);
  const specs = new Map<string, Promise<string>>();
  const multiplierOf = (broker: Broker, symbol: string) => {
    const key = `${broker}:${symbol}`;
    let spec = specs.get(key);
    if (!spec) {
      spec = instrumentOnBroker(db, broker, symbol).then((s) => s.multiplier);
      specs.set(key, spec);
    }
    return spec;
  };
  const marks = await brokerMarks(
    redis,
    rows.map((row) => ({ connectionId: row.brokerConnectionId, symbol: row.symbol })),
  );
  return Promise.all(
    rows.map(async (row) => {
      const multiplier = await multiplierOf(row.broker, row.symbol);
      const lastFill = row.lastFillPrice && row.lastFillAt ? { price: row.lastFillPrice, at: row.lastFillAt } : null;
      const mark = latest(marks.get(markKey(row.brokerConnectionId, row.symbol)) ?? null, lastFill);
      const direction = row.side === 'short' ? -1 : 1;
      const unrealized = mark
        ? roundTo(
            new Dec(mark.price).minus(row.avgEntryPrice).times(row.quantity).times(multiplier).times(direction),
            MONEY_SCALE,
          )
        : '0';
      return {
        id: row.id,
        strategyId: row.strategyId,
        strategyName: row.strategyName,
        brokerConnectionId: row.brokerConnectionId,
        connectionName: row.connectionName,
        symbol: row.symbol,
        side: row.side,
        quantity: shortest(row.quantity),
        avgEntryPrice: shortest(row.avgEntryPrice),
        openedAt: row.openedAt,
        multiplier: shortest(multiplier),
        markPrice: mark ? shortest(mark.price) : null,
        markSource: mark ? mark.source : null,
        markedAt: mark ? mark.at : null,
        unrealizedPnl: unrealized,
        tradeId: row.tradeId !== null && !row.tradeDeleted ? row.tradeId : null,
      } satisfies OpenPositionView;
    }),
  );
}

function latest(broker: Mark | null, fill: Mark | null): (Mark & { source: 'broker' | 'last-fill' }) | null {
  if (broker && (!fill || broker.at >= fill.at)) return { ...broker, source: 'broker' };
  return fill ? { ...fill, source: 'last-fill' } : null;
}

/** Above any user's number of positions: the overview values them all in one read. */
const ALL_POSITIONS = 10_000;

/**
 * What the open positions add to the figures, in total and per strategy. A position whose open trade was deleted
 * counts in no figure (getOpenPositions still lists it: it is exposure at the broker).
 */
export async function openSums(
  db: DbOrTx,
  redis: RedisClient | null,
  scope: { userId: number; strategyId?: number },
): Promise<{ total: OpenSums; byStrategy: Map<number, OpenSums> }> {
  const positions = await loadOpenPositions(db, redis, { ...scope, limit: ALL_POSITIONS });
  const byStrategy = new Map<number, OpenSums>();
  let total: OpenSums = { unrealized: '0', count: 0 };
  for (const position of positions) {
    if (position.tradeId === null) continue;
    const add = (sums: OpenSums): OpenSums => ({
      unrealized: shortest(new Dec(sums.unrealized).plus(position.unrealizedPnl)),
      count: sums.count + 1,
    });
    total = add(total);
    byStrategy.set(position.strategyId, add(byStrategy.get(position.strategyId) ?? { unrealized: '0', count: 0 }));
  }
  return { total, byStrategy };
}
