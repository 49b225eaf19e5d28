/**
 * Small fixed books for the portfolio tests, written straight into the tables: a signed-in trader with strategies
 * and connections, closed and open trades with chosen P&L and dates, positions with an open trade and a last fill.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import {
  benchmarks,
  brokerConnections,
  brokerOrders,
  fills,
  openPositions,
  trades,
} from '../../../drizzle/schema/index.ts';
import type { Database } from '../../../server/db/client.ts';
import type { Broker } from '../../../shared/enums.ts';
import { type SignedInUser, signUp } from '../../helpers/client.ts';
import { insertStrategy } from '../../helpers/fixtures.ts';

export const at = (iso: string) => new Date(iso);

export interface Trader extends SignedInUser {
  db: Database;
}

export async function trader(baseUrl: string, db: Database): Promise<Trader> {
  return { ...(await signUp(baseUrl)), db };
}

export function strategyOf(t: Trader, name?: string): Promise<number> {
  return insertStrategy(t.db, t.id, name ?? `S-${randomUUID().slice(0, 8)}`);
}

export async function connectionOf(t: Trader, broker: Broker, name = `C-${randomUUID().slice(0, 8)}`) {
  const [row] = await t.db
    .insert(brokerConnections)
    .values({ userId: t.id, broker, name, credentialsEnc: 'v1:never-read' })
    .$returningId();
  if (!row) throw new Error('connection insert returned no id');
  return row.id;
}

export interface Book {
  strategyId: number;
  connectionId: number;
}

export interface ClosedTrade {
  pnl: string;
  fees?: string;
  exit: string;
  entry?: string;
  side?: 'long' | 'short';
  symbol?: string;
}

/** A closed trade; entered an hour before its exit unless said otherwise. */
export async function closedTrade(t: Trader, book: Book, trade: ClosedTrade): Promise<number> {
  const exitDate = at(trade.exit);
  const [row] = await t.db
    .insert(trades)
    .values({
      userId: t.id,
      strategyId: book.strategyId,
      brokerConnectionId: book.connectionId,
      symbol: trade.symbol ?? 'MNQZ5',
      side: trade.side ?? 'long',
      quantity: '1',
      entryPrice: '100',
      exitPrice: '101',
      entryDate: trade.entry ? at(trade.entry) : new Date(exitDate.getTime() - 3_600_000),
      exitDate,
      pnl: trade.pnl,
      pnlPercent: '0',
      fees: trade.fees ?? '0',
      status: 'closed',
    })
    .$returningId();
  if (!row) throw new Error('trade insert returned no id');
  return row.id;
}

export async function softDeleteTrade(t: Trader, id: number): Promise<void> {
  await t.db.update(trades).set({ deletedAt: new Date(), deletedBy: t.id }).where(eq(trades.id, id));
}

export interface HeldPosition {
  symbol: string;
  side: 'long' | 'short';
  quantity: string;
  avgEntryPrice: string;
  /** The position's last fill (its price is the mark), on an order of the open trade; none when omitted. */
  lastFill?: { price: string; at: string };
  openedAt?: string;
}

/** A non-flat position with its open trade (and, optionally, the order and fill that last moved it). */
export async function heldPosition(
  t: Trader,
  book: Book,
  held: HeldPosition,
): Promise<{ positionId: number; tradeId: number }> {
  const openedAt = at(held.openedAt ?? '2026-01-05T14:00:00.000Z');
  const [position] = await t.db
    .insert(openPositions)
    .values({
      strategyId: book.strategyId,
      brokerConnectionId: book.connectionId,
      symbol: held.symbol,
      side: held.side,
      quantity: held.quantity,
      avgEntryPrice: held.avgEntryPrice,
      openedAt,
    })
    .$returningId();
  const [trade] = await t.db
    .insert(trades)
    .values({
      userId: t.id,
      strategyId: book.strategyId,
      brokerConnectionId: book.connectionId,
      symbol: held.symbol,
      side: held.side,
      quantity: held.quantity,
      entryPrice: held.avgEntryPrice,
      entryDate: openedAt,
      fees: '0',
      status: 'open',
    })
    .$returningId();
  if (!position || !trade) throw new Error('position insert returned no id');
  if (held.lastFill) {
    const [order] = await t.db
      .insert(brokerOrders)
      .values({
        userId: t.id,
        strategyId: book.strategyId,
        brokerConnectionId: book.connectionId,
        tradeId: trade.id,
        clientOrderId: `fp-test-${randomUUID()}`,
        symbol: held.symbol,
        brokerSymbol: held.symbol,
        side: held.side === 'long' ? 'buy' : 'sell',
        intent: 'open',
        orderType: 'market',
        tif: 'day',
        quantity: held.quantity,
        status: 'filled',
      })
      .$returningId();
    if (!order) throw new Error('order insert returned no id');
    await t.db.insert(fills).values({
      brokerOrderId: order.id,
      brokerFillId: `f-${randomUUID()}`,
      quantity: held.quantity,
      price: held.lastFill.price,
      filledAt: at(held.lastFill.at),
    });
  }
  return { positionId: position.id, tradeId: trade.id };
}

export async function benchmarkCloses(db: Database, symbol: string, closes: Record<string, string>): Promise<void> {
  await db.insert(benchmarks).values(Object.entries(closes).map(([date, close]) => ({ symbol, date, close })));
}
