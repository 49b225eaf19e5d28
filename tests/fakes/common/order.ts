/** The engine's order model: types, construction, and the pure rules of when and how much an order fills. */
import type { Side } from './book.ts';
import { cmp, div, isInteger, isPositive, roundDown, sub } from './decimal.ts';

export type OrderKind = 'market' | 'limit' | 'stop' | 'stop_limit' | 'mit' | 'other';
export type EngineStatus = 'held' | 'working' | 'filled' | 'cancelled' | 'rejected' | 'expired' | 'replaced';

export const TERMINAL: ReadonlySet<EngineStatus> = new Set(['filled', 'cancelled', 'rejected', 'expired', 'replaced']);

export interface FillConfig {
  mode: 'immediate' | 'delay' | 'polls' | 'manual';
  delayMs: number;
  polls: number;
  steps: number;
}

export const DEFAULT_FILL: FillConfig = { mode: 'immediate', delayMs: 50, polls: 1, steps: 1 };

export interface EngineFill {
  id: string;
  seq: number;
  orderId: string;
  account: string;
  symbol: string;
  side: Side;
  qty: string;
  price: string;
  at: number;
}

export interface EngineOrder<X> {
  id: string;
  seq: number;
  account: string;
  symbol: string;
  side: Side;
  qty: string;
  kind: OrderKind;
  limitPrice: string | null;
  stopPrice: string | null;
  clientOrderId: string | null;
  status: EngineStatus;
  /** Stops: the mark has touched the stop price. */
  triggered: boolean;
  filledQty: string;
  avgFillPrice: string | null;
  /** Legs wait ('held') until this order has filled completely. */
  parentId: string | null;
  /** Every order of one bracket/OTO/OCO submission. */
  groupId: string | null;
  /** Siblings that cancel each other once one fills or is cancelled. */
  ocoGroup: string | null;
  createdAt: number;
  /**
   * Real wall-clock time in ms with sub-ms precision (performance.timeOrigin + performance.now(), comparable across
   * processes on one machine) when the fake stored the order, never moved by advanceTime: benchmarks match it to the
   * moment the alert was sent (scripts/bench/signal-to-order.ts).
   */
  receivedAtMs: number;
  updatedAt: number;
  filledAt: number | null;
  cancelledAt: number | null;
  rejectedAt: number | null;
  replacedAt: number | null;
  rejectReason: string | null;
  /** Reads of this order by the client (what 'polls' fills count). */
  polls: number;
  pollsSinceStep: number;
  stepsDone: number;
  ext: X;
}

export interface PlaceInput<X> {
  id: string;
  account: string;
  symbol: string;
  side: Side;
  qty: string;
  kind: OrderKind;
  limitPrice?: string | null;
  stopPrice?: string | null;
  clientOrderId?: string | null;
  parentId?: string | null;
  groupId?: string | null;
  ocoGroup?: string | null;
  held?: boolean;
  ext: X;
}

export function newOrder<X>(input: PlaceInput<X>, seq: number, at: number): EngineOrder<X> {
  return {
    id: input.id,
    seq,
    account: input.account,
    symbol: input.symbol,
    side: input.side,
    qty: input.qty,
    kind: input.kind,
    limitPrice: input.limitPrice ?? null,
    stopPrice: input.stopPrice ?? null,
    clientOrderId: input.clientOrderId ?? null,
    status: input.held ? 'held' : 'working',
    triggered: false,
    filledQty: '0',
    avgFillPrice: null,
    parentId: input.parentId ?? null,
    groupId: input.groupId ?? null,
    ocoGroup: input.ocoGroup ?? null,
    createdAt: at,
    receivedAtMs: performance.timeOrigin + performance.now(),
    updatedAt: at,
    filledAt: null,
    cancelledAt: null,
    rejectedAt: null,
    replacedAt: null,
    rejectReason: null,
    polls: 0,
    pollsSinceStep: 0,
    stepsDone: 0,
    ext: input.ext,
  };
}

/**
 * Whether the order would fill at `mark`: market orders always; limits at or through the limit; stops (and MIT)
 * once the mark has touched the trigger, which arms them for good (`triggered`).
 */
export function marketable<X>(order: EngineOrder<X>, mark: string): boolean {
  const buy = order.side === 'buy';
  if (!order.triggered && order.stopPrice !== null) {
    if (order.kind === 'stop' || order.kind === 'stop_limit') {
      order.triggered = buy ? cmp(mark, order.stopPrice) >= 0 : cmp(mark, order.stopPrice) <= 0;
    } else if (order.kind === 'mit') {
      order.triggered = buy ? cmp(mark, order.stopPrice) <= 0 : cmp(mark, order.stopPrice) >= 0;
    }
  }
  const limitOk =
    order.limitPrice !== null && (buy ? cmp(mark, order.limitPrice) <= 0 : cmp(mark, order.limitPrice) >= 0);
  switch (order.kind) {
    case 'market':
      return true;
    case 'limit':
      return limitOk;
    case 'stop':
    case 'mit':
      return order.triggered;
    case 'stop_limit':
      return order.triggered && limitOk;
    default:
      return false;
  }
}

/** The next partial fill: qty/steps (whole units for whole quantities, else 9 places); the last step takes the rest. */
export function stepQuantity<X>(order: EngineOrder<X>, steps: number): string {
  const remaining = sub(order.qty, order.filledQty);
  if (steps - order.stepsDone <= 1) return remaining;
  const dp = isInteger(order.qty) ? 0 : 9;
  const part = roundDown(div(order.qty, steps, 12), dp);
  return isPositive(part) && cmp(part, remaining) < 0 ? part : remaining;
}
