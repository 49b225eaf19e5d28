import type { ConnectionStatus } from '#shared/enums.ts';
import type { BrokerRegistry } from '../../brokers/registry.ts';
import type { ServiceContext } from '../context.ts';
import { openConnectionAdapter } from './connection-adapter.ts';
import { recordSessionCheck } from './sessions/record-check.ts';

export interface SessionCheck {
  /** The status after the check; null when the connection was disconnected while the broker answered. */
  status: ConnectionStatus | null;
  /** True when this check moved the connection to or from `expired` (and notified the trader, once). */
  changed: boolean;
  reason: string | null;
}

/**
 * Session upkeep for one connection (run by the sessions job): renews the session where the broker supports it
 * (Tradovate token renewal, IBKR tickle), or just checks it. A lost session marks the connection `expired` with
 * the broker's reason; a working one clears it. A broker outage changes nothing: it says nothing about the session
 * (BrokerUnavailable propagates). The broker is called outside any transaction; the outcome is recorded atomically.
 */
export async function checkConnectionSession(
  ctx: ServiceContext,
  registry: BrokerRegistry,
  connectionId: number,
  { renew }: { renew: boolean },
): Promise<SessionCheck> {
  const { adapter } = await openConnectionAdapter(ctx, registry, connectionId);
  const session = renew ? await adapter.renewSession() : await adapter.checkSession();
  return recordSessionCheck(ctx, connectionId, session);
}
