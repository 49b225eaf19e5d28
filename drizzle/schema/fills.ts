import { foreignKey, mysqlTable, uniqueIndex, varchar } from 'drizzle-orm/mysql-core';
import { id, money, ref, timestamps, utc } from './_columns.ts';
import { brokerOrders } from './broker_orders.ts';

/**
 * Executions reported by the broker: the only truth for positions and trades. broker_order_id RESTRICT: orders
 * and fills are never deleted, and the key makes an attempt to do so fail loudly.
 */
export const fills = mysqlTable(
  'fills',
  {
    id: id(),
    brokerOrderId: ref('broker_order_id').notNull(),
    // The broker's execution id; the unique key makes recording a fill idempotent across retries and pollers.
    brokerFillId: varchar('broker_fill_id', { length: 64 }).notNull(),
    quantity: money('quantity').notNull(),
    price: money('price').notNull(),
    commission: money('commission').notNull().default('0'),
    filledAt: utc('filled_at').notNull(),
    ...timestamps(),
  },
  (t) => [
    foreignKey({
      name: 'fills_broker_order_id_fk',
      columns: [t.brokerOrderId],
      foreignColumns: [brokerOrders.id],
    }).onDelete('restrict'),
    // Fill ingestion: insert-once per broker execution; also lists an order's fills (serves the FK).
    uniqueIndex('fills_broker_order_id_broker_fill_id_uq').on(t.brokerOrderId, t.brokerFillId),
  ],
);
