import { eq } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import { emitAudit } from '../../../audit/emit.ts';
import { softDeleteSet } from '../../../db/soft-delete.ts';
import { withTransaction } from '../../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../../context.ts';
import { NotFound } from '../../errors.ts';
import { deactivateRoutingRules } from '../../routing/deactivate.ts';
import { ownedConnection } from './view.ts';

/**
 * Soft-deletes the connection (its name is free again; its orders and trades keep pointing at it) and, in the
 * same transaction, the routing rules that send signals to it, so no signal is routed to a connection that is gone.
 */
export async function disconnect(
  ctx: ServiceContext,
  id: number,
): Promise<{ ok: true; routingRulesDeactivated: number }> {
  return withTransaction(ctx, async (tx) => {
    const [row] = await tx
      .select({
        id: brokerConnections.id,
        broker: brokerConnections.broker,
        name: brokerConnections.name,
        status: brokerConnections.status,
      })
      .from(brokerConnections)
      .where(ownedConnection(ctx, id))
      .for('update');
    if (!row) throw new NotFound('Broker connection');
    await tx
      .update(brokerConnections)
      .set({ ...softDeleteSet(actingUserId(ctx)), status: 'disconnected', statusMessage: null })
      .where(eq(brokerConnections.id, row.id));
    const ruleIds = await deactivateRoutingRules(
      tx,
      ctx,
      { brokerConnectionId: row.id },
      'broker_connection.disconnect',
    );
    await emitAudit(tx, ctx, {
      action: 'broker_connection.disconnect',
      resourceType: 'broker_connection',
      resourceId: row.id,
      oldValue: { broker: row.broker, name: row.name, status: row.status },
      newValue: { status: 'disconnected', routingRuleIds: ruleIds },
    });
    return { ok: true as const, routingRulesDeactivated: ruleIds.length };
  });
}
