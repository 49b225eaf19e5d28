import { eq } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import type { ConnectionStatus } from '#shared/enums.ts';
import { emitAudit } from '../../audit/emit.ts';
import { withTransaction } from '../../db/transaction.ts';
import type { ServiceContext } from '../context.ts';

export interface StatusUpdate {
  status: ConnectionStatus;
  statusMessage: string | null;
  accountId?: string | null;
  sessionExpiresAt?: Date | null;
}

/** Writes what the broker just told us about a connection, with an audit row naming the action that learnt it. */
export async function recordConnectionStatus(
  ctx: ServiceContext,
  connection: { id: number; status: ConnectionStatus },
  update: StatusUpdate,
  action: string,
): Promise<void> {
  await withTransaction(ctx, async (tx) => {
    await tx
      .update(brokerConnections)
      .set({
        status: update.status,
        statusMessage: update.statusMessage?.slice(0, 500) ?? null,
        lastCheckedAt: new Date(),
        ...(update.accountId !== undefined ? { accountId: update.accountId } : {}),
        ...(update.sessionExpiresAt !== undefined ? { sessionExpiresAt: update.sessionExpiresAt } : {}),
      })
      .where(eq(brokerConnections.id, connection.id));
    await emitAudit(tx, ctx, {
      action,
      resourceType: 'broker_connection',
      resourceId: connection.id,
      oldValue: { status: connection.status },
      newValue: { status: update.status, statusMessage: update.statusMessage },
    });
  });
}
