/**
 * Which pending orders may be submitted now: every order without a parent, and a reversal's opening leg once its
 * closing leg (the parent) is filled (SPEC §5: the opening leg is sent only after the closing leg fills).
 */
import { and, eq, inArray, isNull, or } from 'drizzle-orm';
import { alias } from 'drizzle-orm/mysql-core';
import { brokerOrders } from '#drizzle/schema/broker_orders.ts';
import type { DbOrTx } from '../../db/transaction.ts';

const parent = alias(brokerOrders, 'parent');

export async function releasableOrderIds(db: DbOrTx, orderIds: number[]): Promise<number[]> {
  if (orderIds.length === 0) return [];
  const rows = await db
    .select({ id: brokerOrders.id })
    .from(brokerOrders)
    .leftJoin(parent, eq(parent.id, brokerOrders.parentOrderId))
    .where(
      and(
        inArray(brokerOrders.id, orderIds),
        eq(brokerOrders.status, 'pending'),
        or(isNull(brokerOrders.parentOrderId), eq(parent.status, 'filled')),
      ),
    );
  return rows.map((row) => row.id);
}
