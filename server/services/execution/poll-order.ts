/**
 * Follows a submitted order to a final state (the `order-status` job; SPEC §7: fresh orders are polled every few
 * seconds until terminal). Each poll records the fills the broker reports — individual executions where it lists
 * them, a synthesized fill from the running total where it does not (Alpaca) — then stores the broker's status,
 * and either finishes the order or schedules the next poll. A broker outage does not end the chain: the next poll
 * is scheduled later instead.
 */
import { and, eq, notInArray } from 'drizzle-orm';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import { TERMINAL_ORDER_STATUSES } from '#shared/enums.ts';
import { BrokerAuthExpired, BrokerUnavailable } from '../../brokers/errors.ts';
import type { BrokerAdapter, BrokerOrder } from '../../brokers/types.ts';
import type { ServiceContext } from '../context.ts';
import { publishOrderUpdate } from '../events/publish.ts';
import { invalidatePortfolio } from '../portfolio/invalidation.ts';
import { recordBracketLegs } from './bracket-legs.ts';
import { afterFinal, bookFillEffects, finishOrder, releaseChildren, settleLog } from './finish-order.ts';
import { isAtLeast } from './position-math.ts';
import { type RecordFillResult, recordCumulativeFill, recordFill } from './record-fill.ts';
import { loadOrder, type OrderJobDeps, type OrderRow } from './submit-order.ts';

/** Quick at first (market orders fill in milliseconds), then every 5 s; a day-long resting order every 30 s. */
export function nextPollDelayMs(poll: number): number {
  const quick = [200, 300, 500, 1_000, 2_000, 3_000];
  if (poll < quick.length) return quick[poll] as number;
  return poll < 720 ? 5_000 : 30_000;
}

const OUTAGE_RETRY_MS = 10_000;
const TERMINAL = new Set<string>(TERMINAL_ORDER_STATUSES);

export async function pollOrder(
  ctx: ServiceContext,
  deps: OrderJobDeps,
  input: { orderId: number; poll?: number },
): Promise<{ status: string }> {
  const order = await loadOrder(deps.db, input.orderId);
  if (TERMINAL.has(order.status)) {
    // A re-run after a crash right after the order's final commit: what follows it is repeated, idempotently.
    await afterFinal(ctx, deps, order);
    return { status: order.status };
  }
  if (!order.brokerOrderId) return { status: order.status }; // still with the submit job, which starts polling
  return pollNow(ctx, deps, order, input.poll ?? 0);
}

/**
 * The first look at an order just placed, by the job that placed it (no first poll job): the broker's answer itself
 * when it already carries the complete fill (Alpaca often answers a market order filled), else a status request
 * now. An order still working continues with poll 1.
 */
export async function followPlaced(
  ctx: ServiceContext,
  deps: OrderJobDeps,
  order: OrderRow,
  placed: { answer: BrokerOrder; adapter: BrokerAdapter },
): Promise<{ status: string }> {
  const sent = { ...order, brokerOrderId: placed.answer.brokerOrderId };
  const seen = reportsCompleteFill(placed.answer, order.quantity) ? placed.answer : undefined;
  return pollNow(ctx, deps, sent, 0, { adapter: placed.adapter, seen });
}

function reportsCompleteFill(answer: BrokerOrder, quantity: string): boolean {
  return answer.status === 'filled' && answer.avgFillPrice !== null && isAtLeast(answer.filledQty, quantity);
}

async function pollNow(
  ctx: ServiceContext,
  deps: OrderJobDeps,
  order: OrderRow,
  poll: number,
  known?: KnownAnswer,
): Promise<{ status: string }> {
  let refreshed: RefreshedOrder;
  try {
    refreshed = await refreshOrder(ctx, deps, order, known);
  } catch (error) {
    if (error instanceof BrokerAuthExpired) {
      ctx.log.warn({ orderId: order.id }, 'order status unknown: broker session expired; reconciliation resumes it');
      return { status: order.status };
    }
    if (!(error instanceof BrokerUnavailable)) throw error;
    await deps.enqueuePoll(order.id, poll + 1, OUTAGE_RETRY_MS);
    return { status: order.status };
  }
  for (const legId of refreshed.newLegIds) await deps.enqueuePoll(legId, 0, nextPollDelayMs(0));
  if (refreshed.final) return { status: refreshed.status };
  await deps.enqueuePoll(order.id, poll + 1, nextPollDelayMs(poll));
  return { status: refreshed.status };
}

/** What the caller already has: the connection's adapter, and the broker's latest word on the order. */
export interface KnownAnswer {
  adapter?: BrokerAdapter;
  seen?: BrokerOrder;
}

/** What one look at the broker changed for an order. */
export interface RefreshedOrder {
  /** The order's status afterwards (unchanged when the broker does not know the order yet). */
  status: string;
  /** Nothing will change it any more: no further poll is needed. */
  final: boolean;
  /** Bracket legs seen for the first time, recorded as orders of their own: each needs its own status polling. */
  newLegIds: number[];
}

/**
 * Asks the broker about one sent order (unless `known.seen` is its answer already) and applies the answer: the
 * fills it reports (recorded exactly once, whoever else records them meanwhile), its new bracket legs, and its
 * status. Broker errors propagate to the caller, which decides what an outage means (the poller retries later,
 * reconciliation records a failed run). The order must have a broker order id.
 */
export async function refreshOrder(
  ctx: ServiceContext,
  deps: OrderJobDeps,
  order: OrderRow,
  known: KnownAnswer = {},
): Promise<RefreshedOrder> {
  const brokerOrderId = order.brokerOrderId;
  if (!brokerOrderId) throw new Error(`order ${order.id} has not reached the broker`);
  const seen =
    known.seen ??
    (await (known.adapter ?? (await deps.adapterFor(ctx, order.brokerConnectionId))).getOrder(brokerOrderId));
  if (!seen) return { status: order.status, final: false, newLegIds: [] };

  const filled = await recordReportedFills(ctx, deps, order, seen);
  const newLegIds = await recordBracketLegs(deps.db, order, seen.legs ?? []);
  if (seen.status === 'cancelled' || seen.status === 'rejected' || seen.status === 'expired') {
    await finishOrder(ctx, deps, order.id, {
      status: seen.status,
      reason: seen.reason,
      brokerStatus: seen.brokerStatus,
    });
    return { status: seen.status, final: true, newLegIds };
  }
  if (filled) return { status: 'filled', final: true, newLegIds };
  const current = await loadOrder(deps.db, order.id);
  if (current.status === 'filled') return { status: 'filled', final: true, newLegIds };
  // Acknowledged, still working: store the broker's word without stepping over what fills decided.
  const working = seen.status === 'pending' || seen.status === 'filled' ? current.status : seen.status;
  await deps.db
    .update(brokerOrders)
    .set({ status: working, brokerStatus: seen.brokerStatus.slice(0, 32) })
    .where(and(eq(brokerOrders.id, order.id), notInArray(brokerOrders.status, [...TERMINAL_ORDER_STATUSES])));
  return { status: working, final: false, newLegIds };
}

/** Records the fills the broker reports for the order; true when one of them completed it. */
async function recordReportedFills(
  ctx: ServiceContext,
  deps: OrderJobDeps,
  order: OrderRow,
  seen: BrokerOrder,
): Promise<boolean> {
  let filled = false;
  let logStillOpen = false;
  const note = (result: RecordFillResult) => {
    filled ||= result.recorded && result.orderStatus === 'filled';
    logStillOpen ||= result.logStillOpen === true;
    if (result.recorded) invalidatePortfolio(order.userId);
    if (result.recorded)
      publishOrderUpdate({
        ...order,
        status: result.orderStatus,
        filledQty: result.filledQty,
        avgFillPrice: seen.avgFillPrice,
      });
  };
  if (seen.fills && seen.fills.length > 0) {
    for (const fill of seen.fills) note(await recordFill(deps.db, order.id, fill, bookFillEffects));
  } else if (seen.avgFillPrice !== null && Number(seen.filledQty) > 0) {
    const cumulative = { filledQty: seen.filledQty, avgFillPrice: seen.avgFillPrice, at: seen.updatedAt ?? new Date() };
    note(await recordCumulativeFill(deps.db, order.id, cumulative, bookFillEffects));
  }
  // Only a reversal's closing leg has a leg waiting for it (plan.ts: the one plan with two legs).
  if (filled && order.intent === 'reverse_close') await releaseChildren(ctx, deps, order.id);
  // Again after the commit when other orders of the log were open in it (finish-order.ts settleLog).
  if (filled && logStillOpen && order.webhookLogId !== null) await settleLog(deps.db, order.webhookLogId);
  return filled;
}
