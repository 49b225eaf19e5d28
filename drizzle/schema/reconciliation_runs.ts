import { sql } from 'drizzle-orm';
import { foreignKey, index, int, mysqlEnum, mysqlTable, text } from 'drizzle-orm/mysql-core';
import { RECONCILIATION_STATUSES } from '#shared/enums.ts';
import { id, json, ref, timestamps, utc } from './_columns.ts';
import { brokerConnections } from './broker_connections.ts';

/** One entry of a run's discrepancy list. */
export type Discrepancy = { symbol: string; local: string; broker: string; note?: string };

/**
 * One reconciliation pass over a connection. broker_connection_id CASCADE: runs are diagnostics of that
 * connection only; the connection itself RESTRICTs on anything with trading history.
 */
export const reconciliationRuns = mysqlTable(
  'reconciliation_runs',
  {
    id: id(),
    brokerConnectionId: ref('broker_connection_id').notNull(),
    startedAt: utc('started_at').notNull(),
    finishedAt: utc('finished_at'),
    // NULL while the run is in progress.
    status: mysqlEnum('status', RECONCILIATION_STATUSES),
    // The database's clock when the run last proved alive: its worker touches it every few seconds while it works,
    // and a run in progress whose heartbeat is stale died with its worker (services/reconcile/runs.ts).
    heartbeatAt: utc('heartbeat_at').notNull().default(sql`CURRENT_TIMESTAMP(3)`),
    discrepancies: json<Discrepancy[]>('discrepancies'),
    ordersUpdated: int('orders_updated', { unsigned: true }).notNull().default(0),
    error: text('error'),
    ...timestamps(),
  },
  (t) => [
    foreignKey({
      name: 'reconciliation_runs_broker_connection_id_fk',
      columns: [t.brokerConnectionId],
      foreignColumns: [brokerConnections.id],
    }).onDelete('cascade'),
    // brokers.getReconciliationRuns: a connection's runs newest first (also serves the FK).
    index('reconciliation_runs_broker_connection_id_started_at_idx').on(t.brokerConnectionId, t.startedAt),
  ],
);
