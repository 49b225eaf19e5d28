import type { ConnectionStatus } from '#shared/enums.ts';
import type { BrokerRegistry } from '../../brokers/registry.ts';
import type { ServiceContext } from '../context.ts';
import { openConnectionAdapter } from './connection-adapter.ts';
import { recordConnectionStatus } from './record-status.ts';

export interface SessionCheck {
  status: ConnectionStatus;
  /** True when this check moved the connection to or from `expired` (the caller notifies the trader once). */
  changed: boolean;
  reason: string | null;
}

/**
 * Session upkeep for one connection (run by the sessions job): renews the session where the broker supports it
 * (Tradovate token renewal, IBKR tickle), or just checks it. A lost session marks the connection `expired` with
 * the broker's reason; a working one clears it. A broker outage changes nothing: it says nothing about the session.
 */
export async function checkConnectionSession(
  ctx: ServiceContext,
  registry: BrokerRegistry,
  connectionId: number,
  { renew }: { renew: boolean },
): Promise<SessionCheck> {
  const { connection, adapter } = await openConnectionAdapter(ctx, registry, connectionId);
  const session = renew ? await adapter.renewSession() : await adapter.checkSession();
  const status: ConnectionStatus = session.ok ? 'connected' : 'expired';
  const reason = session.ok ? null : (session.reason ?? 'the broker session is no longer valid');
  const changed = (status === 'expired') !== (connection.status === 'expired');
  if (changed || status !== connection.status) {
    await recordConnectionStatus(
      ctx,
      connection,
      { status, statusMessage: reason, sessionExpiresAt: session.expiresAt },
      session.ok ? 'broker_connection.session_restored' : 'broker_connection.session_expired',
    );
  }
  return { status, changed, reason };
}
