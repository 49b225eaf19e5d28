/**
 * What a session check learnt, written once. The connection's row is locked while the new status is decided, so
 * two checks of one connection (two workers, a retry overlapping the next tick) serialize here: only the first to
 * see the session go (or come back) moves the status, and it writes the trader's notification and the audit row in
 * the same transaction. The trader hears of each loss and each recovery exactly once.
 */
import { and, eq, ne } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import type { ConnectionStatus } from '#shared/enums.ts';
import { emitAudit } from '../../../audit/emit.ts';
import type { SessionStatus } from '../../../brokers/types.ts';
import { notDeleted } from '../../../db/soft-delete.ts';
import { type Transaction, withTransaction } from '../../../db/transaction.ts';
import type { ServiceContext } from '../../context.ts';
import { createNotification } from '../../notifications/create.ts';

export interface RecordedCheck {
  /** The connection's status after the check, or null when it was deleted or disconnected meanwhile. */
  status: ConnectionStatus | null;
  /** True when this check moved the connection to or from `expired` (and notified the trader). */
  changed: boolean;
  reason: string | null;
}

type LockedConnection = { id: number; userId: number; broker: string; name: string; status: ConnectionStatus };

export async function recordSessionCheck(
  ctx: ServiceContext,
  connectionId: number,
  session: SessionStatus,
): Promise<RecordedCheck> {
  const reason = session.ok ? null : (session.reason ?? 'the broker session is no longer valid').slice(0, 500);
  return withTransaction(ctx, async (tx) => {
    const [row] = await tx
      .select({
        id: brokerConnections.id,
        userId: brokerConnections.userId,
        broker: brokerConnections.broker,
        name: brokerConnections.name,
        status: brokerConnections.status,
      })
      .from(brokerConnections)
      // A connection disconnected while the broker answered keeps its status: nothing is left to check.
      .where(
        and(
          eq(brokerConnections.id, connectionId),
          notDeleted(brokerConnections),
          ne(brokerConnections.status, 'disconnected'),
        ),
      )
      .for('update');
    if (!row) return { status: null, changed: false, reason };

    const status: ConnectionStatus = session.ok ? 'connected' : 'expired';
    const changed = (status === 'expired') !== (row.status === 'expired');
    await tx
      .update(brokerConnections)
      .set({
        status,
        statusMessage: reason,
        lastCheckedAt: new Date(),
        sessionExpiresAt: session.expiresAt,
      })
      .where(eq(brokerConnections.id, row.id));
    if (status !== row.status) {
      await emitAudit(tx, ctx, {
        action: changed
          ? `broker_connection.session_${session.ok ? 'restored' : 'expired'}`
          : 'broker_connection.session_checked',
        resourceType: 'broker_connection',
        resourceId: row.id,
        oldValue: { status: row.status },
        newValue: { status, statusMessage: reason },
      });
    }
    if (changed) await notifyTrader(tx, row, reason);
    return { status, changed, reason };
  });
}

async function notifyTrader(tx: Transaction, connection: LockedConnection, reason: string | null): Promise<void> {
  const data = { connectionId: connection.id };
  if (reason !== null) {
    await createNotification(tx, {
      userId: connection.userId,
      type: 'broker.session_expired',
      severity: 'error',
      title: `${connection.broker} session expired (${connection.name})`,
      message: `${reason.replace(/[.\s]+$/, '')}. Signals routed to this connection are rejected (broker-session-expired) until the session is restored.`,
      data,
    });
    return;
  }
  await createNotification(tx, {
    userId: connection.userId,
    type: 'broker.session_restored',
    severity: 'success',
    title: `${connection.broker} session restored (${connection.name})`,
    message: 'The broker session works again: signals routed to this connection trade again.',
    data,
  });
}
