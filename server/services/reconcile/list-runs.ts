/**
 * brokers.getReconciliationRuns and brokers.getReconciliationRun: the caller's runs, newest first, and one run with
 * the orders its discrepancies name. Scoped in the query through the connection's owner; another user's run or
 * connection matches nothing.
 */
import { and, desc, eq, inArray, lt, or, type SQL } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import { reconciliationRuns } from '#drizzle/schema/reconciliation_runs.ts';
import type { Page } from '#shared/pagination.ts';
import type {
  BrokerOrderView,
  GetReconciliationRunsInput,
  ReconciliationDiscrepancyView,
  ReconciliationRunDetail,
  ReconciliationRunView,
} from '#shared/schemas/brokers.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { NotFound } from '../errors.ts';
import { toPage } from '../pagination.ts';

const runColumns = {
  id: reconciliationRuns.id,
  brokerConnectionId: reconciliationRuns.brokerConnectionId,
  startedAt: reconciliationRuns.startedAt,
  finishedAt: reconciliationRuns.finishedAt,
  status: reconciliationRuns.status,
  ordersUpdated: reconciliationRuns.ordersUpdated,
  error: reconciliationRuns.error,
  discrepancies: reconciliationRuns.discrepancies,
};

type RunRow = { [K in keyof typeof runColumns]: (typeof reconciliationRuns.$inferSelect)[K] };

/** The caller's live connections, joined in every query. */
function owned(ctx: ServiceContext): SQL | undefined {
  return and(eq(brokerConnections.userId, actingUserId(ctx)), notDeleted(brokerConnections));
}

/**
 * Newest first by (started_at, id), the connection's index order; the cursor is the last run's id and the next page
 * starts below that run's (started_at, id). A cursor that is not one of the caller's runs ends the list.
 */
export async function listReconciliationRuns(
  ctx: ServiceContext,
  input: GetReconciliationRunsInput,
): Promise<Page<ReconciliationRunView>> {
  let below: SQL | undefined;
  if (input.cursor !== undefined) {
    const [cursor] = await ctx.db
      .select({ startedAt: reconciliationRuns.startedAt })
      .from(reconciliationRuns)
      .innerJoin(brokerConnections, eq(brokerConnections.id, reconciliationRuns.brokerConnectionId))
      .where(and(eq(reconciliationRuns.id, input.cursor), owned(ctx)));
    if (!cursor) return { items: [], nextCursor: null };
    below = or(
      lt(reconciliationRuns.startedAt, cursor.startedAt),
      and(eq(reconciliationRuns.startedAt, cursor.startedAt), lt(reconciliationRuns.id, input.cursor)),
    );
  }
  const rows = await ctx.db
    .select(runColumns)
    .from(reconciliationRuns)
    .innerJoin(brokerConnections, eq(brokerConnections.id, reconciliationRuns.brokerConnectionId))
    .where(
      and(
        owned(ctx),
        input.connectionId === undefined ? undefined : eq(reconciliationRuns.brokerConnectionId, input.connectionId),
        input.status === undefined ? undefined : eq(reconciliationRuns.status, input.status),
        below,
      ),
    )
    .orderBy(desc(reconciliationRuns.startedAt), desc(reconciliationRuns.id))
    .limit(input.limit + 1);
  const page = toPage(rows, input);
  return { items: page.items.map(toRunView), nextCursor: page.nextCursor };
}

/** One of the caller's runs, with every order its discrepancies name (the caller's own by construction). */
export async function getReconciliationRun(ctx: ServiceContext, id: number): Promise<ReconciliationRunDetail> {
  const [row] = await ctx.db
    .select(runColumns)
    .from(reconciliationRuns)
    .innerJoin(brokerConnections, eq(brokerConnections.id, reconciliationRuns.brokerConnectionId))
    .where(and(eq(reconciliationRuns.id, id), owned(ctx)));
  if (!row) throw new NotFound('Reconciliation run');
  const run = toRunView(row);
  const orderIds = [...new Set(run.discrepancies.flatMap((d) => d.orderIds))];
  return { ...run, orders: await ordersOf(ctx, orderIds) };
}

async function ordersOf(ctx: ServiceContext, orderIds: number[]): Promise<BrokerOrderView[]> {
  if (orderIds.length === 0) return [];
  const rows = await ctx.db
    .select()
    .from(brokerOrders)
    .where(and(inArray(brokerOrders.id, orderIds), eq(brokerOrders.userId, actingUserId(ctx))))
    .orderBy(brokerOrders.id);
  return rows.map(({ userId: _owner, ...order }) => order);
}

function toRunView(row: RunRow): ReconciliationRunView {
  const raw = Array.isArray(row.discrepancies) ? (row.discrepancies as Partial<ReconciliationDiscrepancyView>[]) : [];
  return {
    id: row.id,
    brokerConnectionId: row.brokerConnectionId,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    status: row.status,
    ordersUpdated: row.ordersUpdated,
    error: row.error,
    discrepancies: raw.map((d) => ({
      symbol: String(d.symbol ?? ''),
      broker: String(d.broker ?? '0'),
      local: String(d.local ?? '0'),
      note: d.note ?? null,
      strategies: d.strategies ?? [],
      orderIds: d.orderIds ?? [],
      brokerOrderIds: d.brokerOrderIds ?? [],
    })),
  };
}
