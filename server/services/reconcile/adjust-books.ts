/**
 * Moves one strategy's position on a symbol to a target quantity outside any fill, for "adopt broker truth". The
 * books stay consistent by the same average-cost rules as fills (position-math applyFill): the change is applied as
 * synthetic adjustments (no fill row, no order) that reduce at the position's own average cost, so no P&L is made up
 * for a trade Fillpath never saw, and add or open at the broker's average entry price. A trade closes when the
 * position reaches flat and opens when it leaves flat, as with fills.
 * Runs in the caller's transaction; locks the position row, then the open trade (the order record-fill.ts uses).
 */
import { Big } from 'big.js';
import { and, asc, eq, sql } from 'drizzle-orm';
import { openPositions } from '#drizzle/schema/open_positions.ts';
import { trades } from '#drizzle/schema/trades.ts';
import type { Transaction } from '../../db/transaction.ts';
import {
  applyFill,
  canonical,
  type FillInput,
  fromStoredTrade,
  type OpenTradeState,
  type PositionState,
  toStored,
  toStoredTrade,
} from '../execution/position-math.ts';

export interface Adjustment {
  userId: number;
  strategyId: number;
  connectionId: number;
  symbol: string;
  /** Signed target quantity. */
  target: string;
  /** The price an added or opened quantity enters at (the broker's average entry price). */
  entryPrice: string;
  multiplier: string;
  at: Date;
}

export interface AdjustedPosition {
  positionId: number;
  /** Signed, canonical. */
  before: string;
  after: string;
  avgEntryBefore: string;
  avgEntryAfter: string;
}

export async function adjustPosition(tx: Transaction, adjustment: Adjustment): Promise<AdjustedPosition> {
  const { strategyId, connectionId, symbol } = adjustment;
  const key = and(
    eq(openPositions.strategyId, strategyId),
    eq(openPositions.brokerConnectionId, connectionId),
    eq(openPositions.symbol, symbol),
  );
  await tx
    .insert(openPositions)
    .values({
      strategyId,
      brokerConnectionId: connectionId,
      symbol,
      side: 'long',
      quantity: '0',
      avgEntryPrice: '0',
      openedAt: adjustment.at,
    })
    .onDuplicateKeyUpdate({ set: { id: sql`id` } });
  const [row] = await tx.select().from(openPositions).where(key).for('update');
  if (!row) throw new Error('position row vanished after it was ensured');
  const [open] = await tx
    .select()
    .from(trades)
    .where(
      and(
        eq(trades.strategyId, strategyId),
        eq(trades.status, 'open'),
        eq(trades.brokerConnectionId, connectionId),
        eq(trades.symbol, symbol),
      ),
    )
    .orderBy(asc(trades.id))
    .limit(1)
    .for('update');

  const held = canonical(row.side === 'short' ? `-${row.quantity}` : row.quantity);
  let position: PositionState = { quantity: held, avgEntryPrice: canonical(row.avgEntryPrice) };
  let trade: OpenTradeState | null = open ? fromStoredTrade(open, held) : null;
  let tradeId: number | null = open?.id ?? null;
  let opened = false;

  for (const fill of adjustmentFills(position, adjustment)) {
    const effect = applyFill(position, trade, fill, adjustment.multiplier);
    if (effect.closedTrade && tradeId !== null) {
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
        .where(eq(trades.id, tradeId));
      tradeId = null;
    }
    if (effect.trade && effect.openedTrade) {
      const [inserted] = await tx
        .insert(trades)
        .values({
          userId: adjustment.userId,
          strategyId,
          brokerConnectionId: connectionId,
          symbol,
          side: effect.trade.side,
          entryDate: effect.trade.entryDate,
          ...toStoredTrade(effect.trade),
        })
        .$returningId();
      tradeId = inserted?.id ?? null;
      opened = true;
    } else if (effect.trade && tradeId !== null) {
      await tx.update(trades).set(toStoredTrade(effect.trade)).where(eq(trades.id, tradeId));
    }
    position = effect.position;
    trade = effect.trade;
  }

  const after = toStored(position.quantity);
  await tx
    .update(openPositions)
    .set({
      quantity: after.replace('-', ''),
      side: after === '0' ? row.side : after.startsWith('-') ? 'short' : 'long',
      avgEntryPrice: toStored(position.avgEntryPrice),
      ...(opened ? { openedAt: adjustment.at } : {}),
    })
    .where(eq(openPositions.id, row.id));
  return {
    positionId: row.id,
    before: held,
    after: canonical(after),
    avgEntryBefore: canonical(row.avgEntryPrice),
    avgEntryAfter: canonical(toStored(position.avgEntryPrice)),
  };
}

/**
 * The synthetic fills from the current position to the target: a reduction (to flat at most) at the position's
 * average cost, then an addition or opening at the entry price. A target across zero takes both.
 */
function adjustmentFills(position: PositionState, adjustment: Adjustment): FillInput[] {
  const held = new Big(position.quantity);
  const target = new Big(adjustment.target);
  /** A fill of a signed quantity: positive buys, negative sells. */
  const fill = (signed: Big, price: string): FillInput => ({
    side: signed.gt(0) ? 'buy' : 'sell',
    quantity: signed.abs().toFixed(),
    price,
    commission: '0',
    filledAt: adjustment.at,
  });
  if (target.eq(held)) return [];
  if (held.eq(0)) return [fill(target, adjustment.entryPrice)];
  const sameSide = !target.eq(0) && held.gt(0) === target.gt(0);
  if (sameSide) {
    const growing = target.abs().gt(held.abs());
    return [fill(target.minus(held), growing ? adjustment.entryPrice : position.avgEntryPrice)];
  }
  const flatten = fill(held.neg(), position.avgEntryPrice);
  return target.eq(0) ? [flatten] : [flatten, fill(target, adjustment.entryPrice)];
}
