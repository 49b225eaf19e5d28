/**
 * Records one broker fill exactly once and applies it to the books (SPEC §5: fills are the only truth for positions
 * and trades). One transaction per fill, with a fixed lock order so concurrent fills serialize without deadlocking
 * each other in the common case: the order row, then the position row of (strategy, connection, symbol).
 * Rounding: the math keeps full precision (see position-math.ts); every value is rounded half-up to the columns'
 * 8 decimals only when written, and the next fill starts from what was written.
 */
import { Big } from 'big.js';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import { fills } from '#drizzle/schema/fills.ts';
import { openPositions } from '#drizzle/schema/open_positions.ts';
import { strategies } from '#drizzle/schema/strategies.ts';
import { trades } from '#drizzle/schema/trades.ts';
import { webhookLogs } from '#drizzle/schema/webhook_logs.ts';
import type { Broker, OrderStatus } from '#shared/enums.ts';
import type { BrokerFill } from '../../brokers/types.ts';
import type { Database } from '../../db/client.ts';
import { isDuplicateKey } from '../../db/errors.ts';
import type { Transaction } from '../../db/transaction.ts';
import { NotFound } from '../errors.ts';
import { instrumentOnBroker } from './instruments.ts';
import {
  applyFill,
  canonical,
  divide,
  type FillInput,
  fromStoredTrade,
  isAtLeast,
  toStored,
  toStoredTrade,
} from './position-math.ts';

export interface RecordFillResult {
  /** False: this broker fill id was already recorded for the order, and nothing changed. */
  recorded: boolean;
  orderId: number;
  orderStatus: OrderStatus;
  filledQty: string;
  /** Signed (negative = short), after the fill. */
  positionQuantity: string;
  openedTradeId: number | null;
  closedTradeId: number | null;
  /** Net P&L of the trade this fill closed. */
  realizedPnl: string | null;
  /** The order after the fill, for what commits with it (notification, log); absent when nothing was recorded. */
  order?: FilledOrderSummary;
  /** What the effects reported (see FillEffects). */
  logStillOpen?: boolean;
}

export interface FilledOrderSummary {
  id: number;
  userId: number;
  strategyId: number;
  strategyName: string;
  webhookLogId: number | null;
  side: 'buy' | 'sell';
  quantity: string;
  filledQty: string;
  avgFillPrice: string;
  brokerSymbol: string;
}

/** Deadlock victim (1213) and lock-wait timeout (1205): nothing was written, so the whole fill can run again. */
const LOCK_CONFLICTS = new Set([1213, 1205]);
const MAX_ATTEMPTS = 5;
/** The broker is done with these orders: a late fill is recorded (fills are the truth) but does not revive them. */
const BROKER_FINAL = new Set<OrderStatus>(['cancelled', 'expired', 'rejected']);

/** Thrown inside the transaction so it rolls back; answered with the order's current state. */
class AlreadyRecorded extends Error {}

/**
 * Runs inside the fill's transaction once the books are written: what must commit with the fill (the trader's
 * notification, the log's final status), so a crash right after the commit cannot lose it.
 */
export type FillEffects = (tx: Transaction, result: RecordFillResult) => Promise<EffectsOutcome | undefined>;

export interface EffectsOutcome {
  /** The order's log still had other open orders inside this transaction: settle it again after the commit. */
  logStillOpen: boolean;
}

export async function recordFill(
  db: Database,
  orderId: number,
  fill: BrokerFill,
  effects?: FillEffects,
): Promise<RecordFillResult> {
  return recordWithRetry(db, orderId, { fillId: fill.brokerFillId, fill: () => fill }, effects);
}

/** What a broker that reports only running totals (Alpaca) says about an order: filled so far, at what average. */
export interface CumulativeFill {
  filledQty: string;
  avgFillPrice: string;
  at: Date;
}

/**
 * Records what a running total adds to the fills already recorded, as one synthesized fill with the deterministic
 * id `cum-<filled qty>`. The difference is taken under the order's lock, so two pollers reading the same or
 * different totals never count a quantity twice; a total not above what is recorded changes nothing.
 */
export async function recordCumulativeFill(
  db: Database,
  orderId: number,
  cumulative: CumulativeFill,
  effects?: FillEffects,
): Promise<RecordFillResult> {
  const fillId = `cum-${canonical(cumulative.filledQty)}`;
  return recordWithRetry(
    db,
    orderId,
    {
      fillId,
      fill: (so) => {
        const quantity = new Big(cumulative.filledQty).minus(so.quantity);
        if (quantity.lte(0)) return null;
        // Price of the new part: total notional at the broker's average, minus the notional already recorded.
        const notional = new Big(cumulative.avgFillPrice).times(cumulative.filledQty).minus(so.notional);
        return {
          brokerFillId: fillId,
          quantity: quantity.toFixed(),
          price: divide(notional.toFixed(), quantity.toFixed()),
          filledAt: cumulative.at,
        };
      },
    },
    effects,
  );
}

/** The fill to record, given what the order's fills add up to so far (null: nothing new). */
interface FillSource {
  fillId: string;
  fill(recorded: FillTotals): BrokerFill | null;
}

/** Sums over an order's recorded fills. */
interface FillTotals {
  quantity: string;
  notional: string;
  commission: string;
}

async function recordWithRetry(
  db: Database,
  orderId: number,
  source: FillSource,
  effects?: FillEffects,
): Promise<RecordFillResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      // READ COMMITTED: every plain read sees what the previous holder of the position lock committed.
      return await db.transaction(
        async (tx) => {
          const result = await recordInTransaction(tx, orderId, source);
          const outcome = await effects?.(tx, result);
          return outcome?.logStillOpen ? { ...result, logStillOpen: true } : result;
        },
        {
          isolationLevel: 'read committed',
        },
      );
    } catch (error) {
      if (error instanceof AlreadyRecorded) return currentState(db, orderId);
      if (attempt >= MAX_ATTEMPTS || !isLockConflict(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, attempt * 15 + Math.random() * 15));
    }
  }
}

async function recordInTransaction(tx: Transaction, orderId: number, source: FillSource): Promise<RecordFillResult> {
  const [order] = await tx
    .select({
      id: brokerOrders.id,
      userId: brokerOrders.userId,
      strategyId: brokerOrders.strategyId,
      brokerConnectionId: brokerOrders.brokerConnectionId,
      webhookLogId: brokerOrders.webhookLogId,
      brokerSymbol: brokerOrders.brokerSymbol,
      side: brokerOrders.side,
      quantity: brokerOrders.quantity,
      status: brokerOrders.status,
    })
    .from(brokerOrders)
    .where(eq(brokerOrders.id, orderId))
    .for('update');
  if (!order) throw new NotFound('order');
  // Every recorder holds the order lock here, so this look at the order's fills is final, and a duplicate waits for
  // no position lock.
  const before = await orderFillsAndNames(tx, order, source.fillId);
  if (before.alreadyRecorded) throw new AlreadyRecorded();
  const fill = source.fill(before.totals);
  if (!fill) throw new AlreadyRecorded();

  const key = and(
    eq(openPositions.strategyId, order.strategyId),
    eq(openPositions.brokerConnectionId, order.brokerConnectionId),
    eq(openPositions.symbol, order.brokerSymbol),
  );
  // The position row persists through flat (quantity 0) so there is always a row to lock.
  await tx
    .insert(openPositions)
    .values({
      strategyId: order.strategyId,
      brokerConnectionId: order.brokerConnectionId,
      symbol: order.brokerSymbol,
      side: 'long',
      quantity: '0',
      avgEntryPrice: '0',
      openedAt: new Date(),
    })
    .onDuplicateKeyUpdate({ set: { id: sql`id` } });
  const [row] = await tx
    .select({
      id: openPositions.id,
      side: openPositions.side,
      quantity: openPositions.quantity,
      avgEntryPrice: openPositions.avgEntryPrice,
    })
    .from(openPositions)
    .where(key)
    .for('update');
  if (!row) throw new Error('position row vanished after it was ensured');

  const input: FillInput = {
    side: order.side,
    quantity: toStored(fill.quantity),
    price: toStored(fill.price),
    commission: toStored(fill.commission ?? '0'),
    filledAt: fill.filledAt,
  };
  // Inserted under the position lock, so fill ids follow the order in which fills reached the books.
  try {
    await tx.insert(fills).values({
      brokerOrderId: orderId,
      brokerFillId: fill.brokerFillId,
      quantity: input.quantity,
      price: input.price,
      commission: input.commission,
      filledAt: input.filledAt,
    });
  } catch (error) {
    if (isDuplicateKey(error)) throw new AlreadyRecorded();
    throw error;
  }

  // trades_strategy_id_status_idx, narrowed to the connection and symbol. Soft-deleted rows are included on purpose:
  // hiding a trade from the trader does not close the position at the broker, and its books must go on.
  const [open] = await tx
    .select({
      id: trades.id,
      side: trades.side,
      quantity: trades.quantity,
      entryPrice: trades.entryPrice,
      exitPrice: trades.exitPrice,
      pnl: trades.pnl,
      fees: trades.fees,
      entryDate: trades.entryDate,
    })
    .from(trades)
    .where(
      and(
        eq(trades.strategyId, order.strategyId),
        eq(trades.status, 'open'),
        eq(trades.brokerConnectionId, order.brokerConnectionId),
        eq(trades.symbol, order.brokerSymbol),
      ),
    )
    .orderBy(asc(trades.id))
    .limit(1)
    .for('update');
  const held = row.side === 'short' ? `-${row.quantity}` : row.quantity;
  const position = { quantity: canonical(held), avgEntryPrice: canonical(row.avgEntryPrice) };
  const { multiplier } = await instrumentOnBroker(tx, before.broker, order.brokerSymbol);
  const effect = applyFill(position, open ? fromStoredTrade(open, position.quantity) : null, input, multiplier);

  const after = toStored(effect.position.quantity);
  await tx
    .update(openPositions)
    .set({
      quantity: after.replace('-', ''),
      // A flat row keeps its last side.
      side: after === '0' ? row.side : after.startsWith('-') ? 'short' : 'long',
      avgEntryPrice: toStored(effect.position.avgEntryPrice),
      ...(effect.openedTrade ? { openedAt: fill.filledAt } : {}),
    })
    .where(eq(openPositions.id, row.id));

  let closedTradeId: number | null = null;
  if (effect.closedTrade && open) {
    const closed = effect.closedTrade;
    await tx
      .update(trades)
      .set({
        ...toStoredTrade(closed),
        exitPrice: toStored(closed.exitPrice),
        exitDate: closed.exitDate,
        pnl: toStored(closed.pnl),
        pnlPercent: toStored(closed.pnlPercent),
        status: 'closed',
      })
      .where(eq(trades.id, open.id));
    closedTradeId = open.id;
  }
  let openedTradeId: number | null = null;
  if (effect.trade && effect.openedTrade) {
    const [inserted] = await tx
      .insert(trades)
      .values({
        userId: order.userId,
        strategyId: order.strategyId,
        brokerConnectionId: order.brokerConnectionId,
        symbol: order.brokerSymbol,
        side: effect.trade.side,
        entryDate: effect.trade.entryDate,
        ...toStoredTrade(effect.trade),
      })
      .$returningId();
    openedTradeId = inserted?.id ?? null;
  } else if (effect.trade && open) {
    await tx.update(trades).set(toStoredTrade(effect.trade)).where(eq(trades.id, open.id));
  }
  // The trade this fill belongs to: the one it opened, else the one it added to, reduced or closed.
  const tradeId = openedTradeId ?? open?.id ?? null;

  // The order's fill sums with this fill added: what SUM over its rows now gives (they are exact decimals).
  const totals = {
    quantity: new Big(before.totals.quantity).plus(input.quantity).toFixed(),
    notional: new Big(before.totals.notional).plus(new Big(input.quantity).times(input.price)).toFixed(),
    commission: new Big(before.totals.commission).plus(input.commission).toFixed(),
  };
  const filledQty = canonical(totals.quantity);
  const completes = order.status !== 'filled' && isAtLeast(filledQty, order.quantity);
  const status: OrderStatus =
    order.status === 'filled' || completes
      ? 'filled'
      : BROKER_FINAL.has(order.status)
        ? order.status
        : 'partially_filled';
  await tx
    .update(brokerOrders)
    .set({
      // Sums over the order's fills: the same as adding this fill to the previous totals, and never counts twice a
      // quantity that another path wrote into filled_qty without a fill row.
      filledQty: toStored(filledQty),
      avgFillPrice: toStored(divide(totals.notional, filledQty)),
      commission: toStored(totals.commission),
      status,
      ...(completes ? { filledAt: fill.filledAt } : {}),
      ...(tradeId ? { tradeId } : {}),
    })
    .where(eq(brokerOrders.id, orderId));
  if (order.webhookLogId && tradeId) {
    await tx
      .update(webhookLogs)
      .set({ tradeId })
      .where(and(eq(webhookLogs.id, order.webhookLogId), isNull(webhookLogs.tradeId)));
  }

  return {
    recorded: true,
    orderId,
    orderStatus: status,
    filledQty: toStored(filledQty),
    positionQuantity: after,
    openedTradeId,
    closedTradeId,
    realizedPnl: effect.closedTrade ? toStored(effect.closedTrade.pnl) : null,
    order: {
      id: order.id,
      userId: order.userId,
      strategyId: order.strategyId,
      strategyName: before.strategyName,
      webhookLogId: order.webhookLogId,
      side: order.side,
      quantity: order.quantity,
      filledQty: toStored(filledQty),
      avgFillPrice: toStored(divide(totals.notional, filledQty)),
      brokerSymbol: order.brokerSymbol,
    },
  };
}

/**
 * In one read (plain, no lock): the order's fill sums, whether `fillId` is among its fills, and the names the books
 * and the trader's notification need: the connection's broker (the contract's multiplier) and the strategy's name.
 */
async function orderFillsAndNames(
  tx: Transaction,
  order: { id: number; brokerConnectionId: number; strategyId: number },
  fillId: string,
) {
  const [row] = await tx
    .select({
      quantity: sql<string>`coalesce(sum(${fills.quantity}), 0)`,
      notional: sql<string>`coalesce(sum(${fills.quantity} * ${fills.price}), 0)`,
      commission: sql<string>`coalesce(sum(${fills.commission}), 0)`,
      alreadyRecorded: sql<number>`coalesce(max(${fills.brokerFillId} = ${fillId}), 0)`,
      broker: sql<Broker | null>`(SELECT ${brokerConnections.broker} FROM ${brokerConnections} WHERE ${brokerConnections.id} = ${order.brokerConnectionId})`,
      strategyName: sql<
        string | null
      >`(SELECT ${strategies.name} FROM ${strategies} WHERE ${strategies.id} = ${order.strategyId})`,
    })
    .from(fills)
    .where(eq(fills.brokerOrderId, order.id));
  if (!row?.broker) throw new NotFound('order connection');
  return {
    totals: { quantity: row.quantity, notional: row.notional, commission: row.commission },
    alreadyRecorded: Number(row.alreadyRecorded) === 1,
    broker: row.broker,
    strategyName: row.strategyName ?? '',
  };
}

async function currentState(db: Database, orderId: number): Promise<RecordFillResult> {
  const [order] = await db.select().from(brokerOrders).where(eq(brokerOrders.id, orderId));
  if (!order) throw new NotFound('order');
  const [row] = await db
    .select({ side: openPositions.side, quantity: openPositions.quantity })
    .from(openPositions)
    .where(
      and(
        eq(openPositions.strategyId, order.strategyId),
        eq(openPositions.brokerConnectionId, order.brokerConnectionId),
        eq(openPositions.symbol, order.brokerSymbol),
      ),
    );
  const quantity = canonical(row?.quantity ?? '0');
  return {
    recorded: false,
    orderId,
    orderStatus: order.status,
    filledQty: canonical(order.filledQty),
    positionQuantity: row?.side === 'short' && quantity !== '0' ? `-${quantity}` : quantity,
    openedTradeId: null,
    closedTradeId: null,
    realizedPnl: null,
  };
}

function isLockConflict(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    if (LOCK_CONFLICTS.has((current as { errno?: unknown }).errno as number)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
