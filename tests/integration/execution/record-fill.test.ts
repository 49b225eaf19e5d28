/**
 * Fills recorded against real MariaDB: what a trader then sees in open_positions, trades, the order and its fills,
 * exactly as stored (decimal(20,8) comes back with 8 decimals). A fill is recorded once however often it arrives,
 * and concurrent fills of many orders on one symbol add up exactly.
 */

import { Big } from 'big.js';
import { and, asc, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import {
  brokerConnections,
  brokerOrders,
  fills,
  openPositions,
  trades,
  users,
  webhookLogs,
} from '../../../drizzle/schema/index.ts';
import type { BrokerFill } from '../../../server/brokers/types.ts';
import { createDatabase } from '../../../server/db/client.ts';
import { softDeleteSet } from '../../../server/db/soft-delete.ts';
import { NotFound } from '../../../server/services/errors.ts';
import { EQUITY_SPEC, instrumentFor } from '../../../server/services/execution/instruments.ts';
import {
  applyFill,
  fromStoredTrade,
  type OpenTradeState,
  type PositionState,
  toStored,
  toStoredTrade,
} from '../../../server/services/execution/position-math.ts';
import { recordFill } from '../../../server/services/execution/record-fill.ts';
import type { Broker, OrderSide, OrderStatus } from '../../../shared/enums.ts';
import { testDatabaseUrl, useTestDatabase } from '../../helpers/db.ts';
import { insertStrategy } from '../../helpers/fixtures.ts';

const { db } = useTestDatabase();
let seq = 0;
const at = (minute: number) => new Date(Date.UTC(2026, 0, 5, 14, minute, 0, 250));

interface Book {
  userId: number;
  strategyId: number;
  connectionId: number;
}

async function makeBook(broker: Broker): Promise<Book> {
  const [user] = await db
    .insert(users)
    .values({ email: `fills${++seq}-${Date.now()}@example.com`, passwordHash: 'argon2id$x', name: 'Trader' })
    .$returningId();
  if (!user) throw new Error('user insert returned no id');
  const strategyId = await insertStrategy(db, user.id);
  const [connection] = await db
    .insert(brokerConnections)
    .values({ userId: user.id, broker, name: `C${++seq}`, credentialsEnc: 'v1:k:iv:tag:ct' })
    .$returningId();
  if (!connection) throw new Error('connection insert returned no id');
  return { userId: user.id, strategyId, connectionId: connection.id };
}

async function makeLog(book: Book): Promise<number> {
  const [row] = await db
    .insert(webhookLogs)
    .values({ strategyId: book.strategyId, receivedAt: new Date(), rawBody: '{}', status: 'executing' })
    .$returningId();
  if (!row) throw new Error('log insert returned no id');
  return row.id;
}

async function makeOrder(
  book: Book,
  order: { side: OrderSide; quantity: string; symbol: string; status?: OrderStatus; webhookLogId?: number },
): Promise<number> {
  const [row] = await db
    .insert(brokerOrders)
    .values({
      userId: book.userId,
      strategyId: book.strategyId,
      brokerConnectionId: book.connectionId,
      webhookLogId: order.webhookLogId ?? null,
      clientOrderId: `fp-t${++seq}-${Date.now()}`,
      symbol: order.symbol,
      brokerSymbol: order.symbol,
      side: order.side,
      intent: 'open',
      orderType: 'market',
      tif: 'day',
      quantity: order.quantity,
      status: order.status ?? 'accepted',
    })
    .$returningId();
  if (!row) throw new Error('order insert returned no id');
  return row.id;
}

const fill = (id: string, quantity: string, price: string, commission: string, minute: number): BrokerFill => ({
  brokerFillId: id,
  quantity,
  price,
  commission,
  filledAt: at(minute),
});

async function orderRow(id: number) {
  const [row] = await db.select().from(brokerOrders).where(eq(brokerOrders.id, id));
  if (!row) throw new Error(`order ${id} missing`);
  return row;
}
async function positionRow(book: Book, symbol: string) {
  const [row] = await db
    .select()
    .from(openPositions)
    .where(
      and(
        eq(openPositions.strategyId, book.strategyId),
        eq(openPositions.brokerConnectionId, book.connectionId),
        eq(openPositions.symbol, symbol),
      ),
    );
  return row;
}
const tradeRows = (book: Book) =>
  db.select().from(trades).where(eq(trades.strategyId, book.strategyId)).orderBy(asc(trades.id));
async function logTradeId(id: number) {
  const [row] = await db.select({ tradeId: webhookLogs.tradeId }).from(webhookLogs).where(eq(webhookLogs.id, id));
  return row?.tradeId;
}

describe('recordFill', () => {
  it('an MNQ round trip: a partially then fully filled entry order, then an exit order closing the trade', async () => {
    const book = await makeBook('tradovate');
    const entryLog = await makeLog(book);
    const entry = await makeOrder(book, { side: 'buy', quantity: '3', symbol: 'MNQZ5', webhookLogId: entryLog });

    // First fill: 2 of 3 → partially filled; a long position of 2 and an open trade.
    const first = await recordFill(db, entry, fill('E-1', '2', '19999.5', '1', 1));
    const tradeId = first.openedTradeId;
    expect(tradeId).toEqual(expect.any(Number));
    expect(first).toMatchObject({
      recorded: true,
      orderId: entry,
      orderStatus: 'partially_filled',
      filledQty: '2',
      positionQuantity: '2',
      openedTradeId: tradeId,
      closedTradeId: null,
      realizedPnl: null,
      // What the fill's notification is written from, without reading the order again.
      order: { id: entry, side: 'buy', filledQty: '2', avgFillPrice: '19999.5', brokerSymbol: 'MNQZ5' },
    });
    expect(await orderRow(entry)).toMatchObject({
      status: 'partially_filled',
      filledQty: '2.00000000',
      avgFillPrice: '19999.50000000',
      commission: '1.00000000',
      filledAt: null,
      tradeId,
    });
    expect(await logTradeId(entryLog)).toBe(tradeId);

    // Second fill completes the order: avg fill (2 × 19999.5 + 1 × 20001) / 3 = 60000 / 3 = 20000.
    const second = await recordFill(db, entry, fill('E-2', '1', '20001', '0.5', 2));
    expect(second).toMatchObject({ orderStatus: 'filled', filledQty: '3', positionQuantity: '3', openedTradeId: null });
    expect(await orderRow(entry)).toMatchObject({
      status: 'filled',
      filledQty: '3.00000000',
      avgFillPrice: '20000.00000000',
      commission: '1.50000000',
      filledAt: at(2),
      tradeId,
    });
    expect(await positionRow(book, 'MNQZ5')).toMatchObject({
      side: 'long',
      quantity: '3.00000000',
      avgEntryPrice: '20000.00000000',
    });

    // Exit 3 @ 20010.25 (fee 1.5): gross (20010.25 − 20000) × 3 × 2 = 61.5, fees 1 + 0.5 + 1.5 = 3, pnl 58.5;
    // pnl% = 58.5 / (20000 × 3 × 2) × 100 = 0.04875.
    const exitLog = await makeLog(book);
    const exit = await makeOrder(book, { side: 'sell', quantity: '3', symbol: 'MNQZ5', webhookLogId: exitLog });
    const closing = await recordFill(db, exit, fill('X-1', '3', '20010.25', '1.5', 9));
    expect(closing).toMatchObject({
      recorded: true,
      orderId: exit,
      orderStatus: 'filled',
      filledQty: '3',
      positionQuantity: '0',
      openedTradeId: null,
      closedTradeId: tradeId,
      realizedPnl: '58.5',
    });
    expect(await tradeRows(book)).toEqual([
      expect.objectContaining({
        id: tradeId,
        userId: book.userId,
        brokerConnectionId: book.connectionId,
        symbol: 'MNQZ5',
        side: 'long',
        status: 'closed',
        quantity: '3.00000000',
        entryPrice: '20000.00000000',
        exitPrice: '20010.25000000',
        entryDate: at(1),
        exitDate: at(9),
        fees: '3.00000000',
        pnl: '58.50000000',
        pnlPercent: '0.04875000',
      }),
    ]);
    // The flat position keeps its row (quantity 0, last side) for the next fill to lock.
    expect(await positionRow(book, 'MNQZ5')).toMatchObject({
      side: 'long',
      quantity: '0.00000000',
      avgEntryPrice: '0.00000000',
    });
    expect(await orderRow(exit)).toMatchObject({ filledAt: at(9), tradeId, avgFillPrice: '20010.25000000' });
    expect(await logTradeId(exitLog)).toBe(tradeId);
    const stored = await db
      .select({
        brokerOrderId: fills.brokerOrderId,
        brokerFillId: fills.brokerFillId,
        quantity: fills.quantity,
        price: fills.price,
        commission: fills.commission,
        filledAt: fills.filledAt,
      })
      .from(fills)
      .where(eq(fills.brokerOrderId, entry))
      .orderBy(asc(fills.id));
    expect(stored).toEqual([
      {
        brokerOrderId: entry,
        brokerFillId: 'E-1',
        quantity: '2.00000000',
        price: '19999.50000000',
        commission: '1.00000000',
        filledAt: at(1),
      },
      {
        brokerOrderId: entry,
        brokerFillId: 'E-2',
        quantity: '1.00000000',
        price: '20001.00000000',
        commission: '0.50000000',
        filledAt: at(2),
      },
    ]);
  });

  it('records the same broker fill once, even when both copies arrive at the same moment', async () => {
    const book = await makeBook('ibkr');
    const order = await makeOrder(book, { side: 'buy', quantity: '2', symbol: 'AAPL' });
    const copy = fill('dup-1', '1', '187.12', '0.35', 1);

    const results = await Promise.all([recordFill(db, order, copy), recordFill(db, order, copy)]);
    expect(results.map((r) => r.recorded).sort()).toEqual([false, true]);
    const again = await recordFill(db, order, copy);
    expect(again).toEqual({
      recorded: false,
      orderId: order,
      orderStatus: 'partially_filled',
      filledQty: '1',
      positionQuantity: '1',
      openedTradeId: null,
      closedTradeId: null,
      realizedPnl: null,
    });
    expect(await db.select().from(fills).where(eq(fills.brokerOrderId, order))).toHaveLength(1);
    expect(await orderRow(order)).toMatchObject({ filledQty: '1.00000000', commission: '0.35000000' });
    expect(await positionRow(book, 'AAPL')).toMatchObject({ quantity: '1.00000000', avgEntryPrice: '187.12000000' });
    expect(await tradeRows(book)).toEqual([expect.objectContaining({ quantity: '1.00000000', fees: '0.35000000' })]);
  });

  it('a fill that reverses the position closes one trade and opens the next with the commission split (ES × 50)', async () => {
    const book = await makeBook('tradovate');
    const entry = await makeOrder(book, { side: 'buy', quantity: '2', symbol: 'ESH6' });
    const opened = await recordFill(db, entry, fill('L-1', '2', '5000', '2', 1));
    const reverseLog = await makeLog(book);
    const reverse = await makeOrder(book, { side: 'sell', quantity: '5', symbol: 'ESH6', webhookLogId: reverseLog });

    // Sell 5 @ 5010 (fee 5): 2 close the long: gross (5010 − 5000) × 2 × 50 = 1000, fee share 5 × 2 / 5 = 2,
    // fees 2 + 2 = 4, pnl 996, pnl% = 996 / (5000 × 2 × 50) × 100 = 0.1992. The other 3 open a short @ 5010, fee 3.
    const result = await recordFill(db, reverse, fill('S-1', '5', '5010', '5', 4));
    expect(result).toMatchObject({
      positionQuantity: '-3',
      closedTradeId: opened.openedTradeId,
      openedTradeId: expect.any(Number),
      realizedPnl: '996',
    });
    const [closed, next] = await tradeRows(book);
    expect(closed).toMatchObject({
      id: opened.openedTradeId,
      status: 'closed',
      side: 'long',
      quantity: '2.00000000',
      exitPrice: '5010.00000000',
      fees: '4.00000000',
      pnl: '996.00000000',
      pnlPercent: '0.19920000',
      exitDate: at(4),
    });
    expect(next).toMatchObject({
      id: result.openedTradeId,
      status: 'open',
      side: 'short',
      quantity: '3.00000000',
      entryPrice: '5010.00000000',
      entryDate: at(4),
      exitPrice: null,
      pnl: null,
      fees: '3.00000000',
    });
    expect(await positionRow(book, 'ESH6')).toMatchObject({
      side: 'short',
      quantity: '3.00000000',
      avgEntryPrice: '5010.00000000',
      openedAt: at(4),
    });
    // The reversing order belongs to the trade it opened.
    expect(await orderRow(reverse)).toMatchObject({ tradeId: result.openedTradeId, status: 'filled' });
    expect(await orderRow(entry)).toMatchObject({ tradeId: opened.openedTradeId });
    expect(await logTradeId(reverseLog)).toBe(result.openedTradeId);
  });

  it('a fill on a cancelled order is still recorded; the order stays cancelled unless the fill completes it', async () => {
    const book = await makeBook('ibkr');
    const cancelled = await makeOrder(book, { side: 'buy', quantity: '5', symbol: 'MSFT', status: 'cancelled' });
    const result = await recordFill(db, cancelled, fill('C-1', '2', '410.5', '0', 1));
    expect(result).toMatchObject({ recorded: true, orderStatus: 'cancelled', filledQty: '2', positionQuantity: '2' });
    expect(await orderRow(cancelled)).toMatchObject({
      status: 'cancelled',
      filledQty: '2.00000000',
      avgFillPrice: '410.50000000',
      filledAt: null,
      tradeId: result.openedTradeId,
    });
    expect(await positionRow(book, 'MSFT')).toMatchObject({ side: 'long', quantity: '2.00000000' });

    // The cancel lost the race with a complete fill: the broker filled it, so it is filled.
    const raced = await makeOrder(book, { side: 'buy', quantity: '1', symbol: 'MSFT', status: 'cancelled' });
    expect(await recordFill(db, raced, fill('C-2', '1', '411.5', '0', 2))).toMatchObject({
      orderStatus: 'filled',
      positionQuantity: '3',
    });
    expect(await orderRow(raced)).toMatchObject({ status: 'filled', filledAt: at(2) });
    // (2 × 410.5 + 1 × 411.5) / 3 = 1232.5 / 3 = 410.8333… → 410.83333333 stored.
    expect(await positionRow(book, 'MSFT')).toMatchObject({ quantity: '3.00000000', avgEntryPrice: '410.83333333' });
  });

  it('twenty orders filled concurrently on one symbol end with the exact books of some serial order', async () => {
    const book = await makeBook('tradovate');
    // Buys of 2 and sells of 1 alternate, at prices 0.25 apart: net 10 × 2 − 10 × 1 = +10 contracts.
    const specs = Array.from({ length: 20 }, (_, i) => ({
      side: (i % 2 === 0 ? 'buy' : 'sell') as OrderSide,
      quantity: i % 2 === 0 ? '2' : '1',
      price: new Big('5000').plus(new Big('0.25').times(i)).toFixed(),
    }));
    const orders = await Promise.all(specs.map((s) => makeOrder(book, { ...s, symbol: 'ESM6' })));
    const wide = createDatabase({ url: testDatabaseUrl(), poolSize: 10, queueLimit: 100 });
    try {
      const results = await Promise.all(
        orders.map((id, i) => {
          const s = specs[i] as (typeof specs)[number];
          return recordFill(wide.db, id, fill(`P-${i}`, s.quantity, s.price, '1.25', i));
        }),
      );
      expect(results.every((r) => r.recorded && r.orderStatus === 'filled')).toBe(true);
    } finally {
      await wide.close();
    }

    const position = await positionRow(book, 'ESM6');
    expect(position).toMatchObject({ side: 'long', quantity: '10.00000000' });

    // Replay the fills in the order they reached the books (fill ids are assigned under the position lock),
    // storing between fills as recordFill does: the stored books must be exactly that replay.
    const applied = await db
      .select({ side: brokerOrders.side, quantity: fills.quantity, price: fills.price, at: fills.filledAt })
      .from(fills)
      .innerJoin(brokerOrders, eq(brokerOrders.id, fills.brokerOrderId))
      .where(eq(brokerOrders.strategyId, book.strategyId))
      .orderBy(asc(fills.id));
    expect(applied).toHaveLength(20);
    let replayed: PositionState = { quantity: '0', avgEntryPrice: '0' };
    let open: OpenTradeState | null = null;
    const closedPnls: string[] = [];
    for (const f of applied) {
      const effect = applyFill(
        replayed,
        open,
        { side: f.side, quantity: f.quantity, price: f.price, commission: '1.25', filledAt: f.at },
        '50',
      );
      replayed = {
        quantity: toStored(effect.position.quantity),
        avgEntryPrice: toStored(effect.position.avgEntryPrice),
      };
      open = effect.trade
        ? fromStoredTrade(
            { side: effect.trade.side, entryDate: effect.trade.entryDate, ...toStoredTrade(effect.trade) },
            replayed.quantity,
          )
        : null;
      if (effect.closedTrade) closedPnls.push(toStored(effect.closedTrade.pnl));
    }
    expect(toStored(position?.avgEntryPrice ?? '')).toBe(replayed.avgEntryPrice);
    const rows = await tradeRows(book);
    expect(rows.filter((t) => t.status === 'closed').map((t) => toStored(t.pnl ?? ''))).toEqual(closedPnls);
    const [openRow, ...extra] = rows.filter((t) => t.status === 'open');
    expect(extra).toEqual([]);
    expect(openRow && toStoredTrade(fromStoredTrade(openRow, '10'))).toEqual(open && toStoredTrade(open));
    // Every commission lands in exactly one trade: 20 × 1.25 = 25.
    expect(rows.reduce((sum, t) => sum.plus(t.fees), new Big(0)).toFixed()).toBe('25');
  });

  it('a deadlock is retried: the rolled-back attempt leaves nothing behind and the fill is recorded once', async () => {
    const book = await makeBook('ibkr');
    const order = await makeOrder(book, { side: 'buy', quantity: '4', symbol: 'NVDA' });
    // The first attempt does all its writes, then MariaDB picks it as the deadlock victim (errno 1213, as mysql2
    // reports it under drizzle's query error).
    const deadlock = Object.assign(new Error('Failed query'), {
      cause: Object.assign(new Error('Deadlock found when trying to get lock'), { errno: 1213 }),
    });
    let attempts = 0;
    const flaky = Object.create(db) as typeof db;
    flaky.transaction = ((fn, config) =>
      db.transaction(async (tx) => {
        const result = await fn(tx);
        if (++attempts === 1) throw deadlock;
        return result;
      }, config)) as typeof db.transaction;

    const result = await recordFill(flaky, order, fill('D-1', '4', '120.5', '0.4', 1));
    expect(attempts).toBe(2);
    expect(result).toMatchObject({ recorded: true, orderStatus: 'filled', filledQty: '4', positionQuantity: '4' });
    expect(await db.select().from(fills).where(eq(fills.brokerOrderId, order))).toHaveLength(1);
    expect(await tradeRows(book)).toHaveLength(1);
    expect(await orderRow(order)).toMatchObject({ filledQty: '4.00000000', commission: '0.40000000' });
  });

  it('a trade hidden by the trader (soft-deleted) while open still closes with its position', async () => {
    const book = await makeBook('ibkr');
    const buy = await makeOrder(book, { side: 'buy', quantity: '5', symbol: 'AMD' });
    const sell = await makeOrder(book, { side: 'sell', quantity: '5', symbol: 'AMD' });
    const opened = await recordFill(db, buy, fill('h-1', '5', '160', '0', 1));
    await db
      .update(trades)
      .set(softDeleteSet(book.userId))
      .where(eq(trades.id, opened.openedTradeId ?? 0));
    // (161.5 − 160) × 5 = 7.5: the same trade closes (and stays hidden); no second trade appears.
    const closed = await recordFill(db, sell, fill('h-2', '5', '161.5', '0', 2));
    expect(closed).toMatchObject({ closedTradeId: opened.openedTradeId, realizedPnl: '7.5', positionQuantity: '0' });
    const rows = await tradeRows(book);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'closed', pnl: '7.50000000', deletedAt: expect.any(Date) });
  });

  it('an Alpaca symbol that spells a futures root is still an equity (multiplier 1)', async () => {
    const book = await makeBook('alpaca');
    const buy = await makeOrder(book, { side: 'buy', quantity: '10', symbol: 'ES' });
    const sell = await makeOrder(book, { side: 'sell', quantity: '10', symbol: 'ES' });
    await recordFill(db, buy, fill('a-1', '10', '100', '0', 1));
    // (101 − 100) × 10 × 1 = 10, not × 50.
    expect(await recordFill(db, sell, fill('a-2', '10', '101', '0', 2))).toMatchObject({ realizedPnl: '10' });
  });

  it('refuses an unknown order', async () => {
    await expect(recordFill(db, 987654321, fill('n-1', '1', '1', '0', 1))).rejects.toBeInstanceOf(NotFound);
  });
});

describe('instrumentFor', () => {
  it.each([
    ['MNQZ5', { multiplier: '2', lotSize: '1', tickSize: '0.25', assetClass: 'future' }],
    ['ES', { multiplier: '50', lotSize: '1', tickSize: '0.25', assetClass: 'future' }],
    ['ESH26', { multiplier: '50', lotSize: '1', tickSize: '0.25', assetClass: 'future' }],
    ['MESZ5', { multiplier: '5', lotSize: '1', tickSize: '0.25', assetClass: 'future' }],
    ['MNQ1!', { multiplier: '2', lotSize: '1', tickSize: '0.25', assetClass: 'future' }],
    ['MYMH6', { multiplier: '0.5', lotSize: '1', tickSize: '1', assetClass: 'future' }],
    ['CLZ5', { multiplier: '1000', lotSize: '1', tickSize: '0.01', assetClass: 'future' }],
  ])('%s is a future', async (symbol, spec) => {
    expect(await instrumentFor(db, symbol)).toEqual(spec);
  });

  it.each(['AAPL', 'ESTC', 'CLX', 'GCI', 'MSFT'])('%s has no contract spec: an equity', async (symbol) => {
    expect(await instrumentFor(db, symbol)).toEqual(EQUITY_SPEC);
    expect(EQUITY_SPEC).toEqual({ multiplier: '1', lotSize: '1', tickSize: '0.01', assetClass: 'equity' });
  });
});
