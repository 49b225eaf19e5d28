/**
 * What follows an order reaching a final state (SPEC §5): the trader is told (filled, rejected, failed), a
 * reversal's opening leg is released when its closing leg filled or cancelled when it did not, and the webhook
 * log is settled once none of its orders can change any more: `executed` when any filled, otherwise `failed`.
 * Each transition is a conditional UPDATE, so a second poller or a retried job never notifies twice.
 */
import { and, eq, inArray, notInArray, sql } from 'drizzle-orm';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import { strategies } from '#drizzle/schema/strategies.ts';
import { webhookLogs } from '#drizzle/schema/webhook_logs.ts';
import { type OrderStatus, TERMINAL_ORDER_STATUSES } from '#shared/enums.ts';
import type { Database } from '../../db/client.ts';
import type { DbOrTx, Transaction } from '../../db/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { announceOrder } from '../events/publish.ts';
import { createNotification } from '../notifications/create.ts';
import { canonical } from './position-math.ts';
import type { EffectsOutcome, RecordFillResult } from './record-fill.ts';
import { releasableOrderIds } from './release.ts';

export interface FinishDeps {
  db: Database;
  enqueueSubmit(orderIds: number[]): Promise<void>;
}

type EndStatus = Extract<OrderStatus, 'rejected' | 'failed' | 'cancelled' | 'expired'>;
const TERMINAL = [...TERMINAL_ORDER_STATUSES];

async function describe(db: DbOrTx, orderId: number) {
  const [row] = await db
    .select({
      id: brokerOrders.id,
      userId: brokerOrders.userId,
      strategyId: brokerOrders.strategyId,
      webhookLogId: brokerOrders.webhookLogId,
      side: brokerOrders.side,
      quantity: brokerOrders.quantity,
      filledQty: brokerOrders.filledQty,
      avgFillPrice: brokerOrders.avgFillPrice,
      brokerSymbol: brokerOrders.brokerSymbol,
      strategyName: strategies.name,
    })
    .from(brokerOrders)
    .innerJoin(strategies, eq(strategies.id, brokerOrders.strategyId))
    .where(eq(brokerOrders.id, orderId));
  if (!row) throw new Error(`order ${orderId} vanished`);
  return row;
}

/** Ends an order without a (complete) fill. Returns false when it had already ended. */
export async function finishOrder(
  ctx: ServiceContext,
  deps: FinishDeps,
  orderId: number,
  end: { status: EndStatus; reason?: string; brokerStatus?: string; onlyFrom?: OrderStatus[] },
): Promise<boolean> {
  const ended = await deps.db.transaction(async (tx) => {
    const [result] = await tx
      .update(brokerOrders)
      .set({
        status: end.status,
        ...(end.reason ? { lastError: end.reason.slice(0, 1000) } : {}),
        ...(end.brokerStatus ? { brokerStatus: end.brokerStatus.slice(0, 32) } : {}),
      })
      .where(
        and(
          eq(brokerOrders.id, orderId),
          end.onlyFrom ? inArray(brokerOrders.status, end.onlyFrom) : notInArray(brokerOrders.status, TERMINAL),
        ),
      );
    if (result.affectedRows !== 1) return null;
    const order = await describe(tx, orderId);
    const what = `${order.side} ${canonical(order.quantity)} ${order.brokerSymbol}`;
    if (end.status === 'rejected' || end.status === 'failed') {
      await createNotification(tx, {
        userId: order.userId,
        type: end.status === 'rejected' ? 'order.rejected' : 'order.failed',
        severity: 'error',
        title: `Order ${end.status}: ${what} (${order.strategyName})`,
        message: end.reason ?? `The order was ${end.status}`,
        data: { orderId, strategyId: order.strategyId, webhookLogId: order.webhookLogId },
      });
    }
    await cancelWaitingChildren(tx, orderId);
    const logStillOpen = order.webhookLogId !== null && (await settleLog(tx, order.webhookLogId));
    return { logId: order.webhookLogId, logStillOpen };
  });
  if (!ended) return false;
  ctx.log.info({ orderId, status: end.status }, 'order ended');
  // See settleLog: a sibling order that ended in a concurrent transaction was hidden from this one.
  if (ended.logStillOpen && ended.logId !== null) await settleLog(deps.db, ended.logId);
  announceOrder(ctx, deps.db, orderId);
  return true;
}

/**
 * What commits with a recorded fill, inside its transaction (record-fill.ts FillEffects): the trader's fill
 * notification and, once filled, the log's final status. A crash after the commit therefore loses neither.
 */
export async function bookFillEffects(tx: Transaction, result: RecordFillResult): Promise<EffectsOutcome | undefined> {
  const order = result.order;
  if (!result.recorded || !order) return undefined;
  const filled = result.orderStatus === 'filled';
  const what = `${order.side === 'buy' ? 'Bought' : 'Sold'} ${canonical(order.filledQty)} of ${canonical(order.quantity)} ${order.brokerSymbol}`;
  const price = ` at ${canonical(order.avgFillPrice)}`;
  const pnl = result.realizedPnl ? `; trade closed with P&L ${canonical(result.realizedPnl)}` : '';
  await createNotification(tx, {
    userId: order.userId,
    type: filled ? 'order.filled' : 'order.partially_filled',
    severity: filled ? 'success' : 'info',
    title: `${filled ? 'Filled' : 'Partially filled'}: ${order.side} ${order.brokerSymbol} (${order.strategyName})`,
    message: `${what}${price}${pnl}`,
    data: { orderId: order.id, strategyId: order.strategyId, webhookLogId: order.webhookLogId },
  });
  if (!filled || order.webhookLogId === null) return undefined;
  return { logStillOpen: await settleLog(tx, order.webhookLogId) };
}

/**
 * After a filled order's commit: sends a reversal's opening leg. Safe to repeat (one job per order), and the order
 * outbox sweep sends a leg whose enqueue was lost.
 */
export async function releaseChildren(ctx: ServiceContext, deps: FinishDeps, parentOrderId: number): Promise<void> {
  const children = await deps.db
    .select({ id: brokerOrders.id })
    .from(brokerOrders)
    .where(eq(brokerOrders.parentOrderId, parentOrderId));
  const ready = await releasableOrderIds(
    deps.db,
    children.map((child) => child.id),
  );
  if (ready.length === 0) return;
  await deps.enqueueSubmit(ready).catch((err: unknown) => {
    ctx.log.warn({ err, orderIds: ready }, 'opening leg not enqueued; the outbox sweep will enqueue it');
  });
}

/**
 * For a poll that finds its order already final (a re-run after a crash between the final commit and what follows
 * it): repeats what follows, all of it idempotent.
 */
export async function afterFinal(
  ctx: ServiceContext,
  deps: FinishDeps,
  order: { id: number; status: string; webhookLogId: number | null },
): Promise<void> {
  if (order.status === 'filled') await releaseChildren(ctx, deps, order.id);
  if (order.webhookLogId !== null) await settleLog(deps.db, order.webhookLogId);
}

/** A reversal's opening leg never goes out when its closing leg ended unfilled: the position is not what it assumed. */
async function cancelWaitingChildren(tx: DbOrTx, parentOrderId: number): Promise<void> {
  await tx
    .update(brokerOrders)
    .set({ status: 'cancelled', lastError: 'Not sent: the closing leg of the reversal did not fill' })
    .where(and(eq(brokerOrders.parentOrderId, parentOrderId), eq(brokerOrders.status, 'pending')));
}

/**
 * `executing` → `executed` (something filled) or `failed`, once every order of the log is final. Returns true when
 * other orders of the log were still open. Inside an order's transaction, a sibling order (a reversal's other leg, a
 * second route) ending in a concurrent transaction is invisible, and that transaction does not see this one either:
 * each finds the other open and the log would stay `executing` for good. So a caller that got true settles again
 * after its commit; the later of the two then sees both.
 */
export async function settleLog(db: DbOrTx, webhookLogId: number): Promise<boolean> {
  const [counts] = await db
    .select({
      open: sql<number>`SUM(${brokerOrders.status} NOT IN ('filled','cancelled','rejected','expired','failed'))`,
      filled: sql<number>`SUM(${brokerOrders.filledQty} > 0)`,
      firstError: sql<string | null>`MIN(${brokerOrders.lastError})`,
    })
    .from(brokerOrders)
    .where(eq(brokerOrders.webhookLogId, webhookLogId));
  if (!counts) return false;
  if (Number(counts.open) > 0) return true;
  const executed = Number(counts.filled) > 0;
  await db
    .update(webhookLogs)
    .set(
      executed
        ? { status: 'executed' }
        : {
            status: 'failed',
            errorCode: 'order-failed',
            errorMessage: (counts.firstError ?? 'No order filled').slice(0, 1000),
          },
    )
    .where(and(eq(webhookLogs.id, webhookLogId), inArray(webhookLogs.status, ['executing'])));
  return false;
}
