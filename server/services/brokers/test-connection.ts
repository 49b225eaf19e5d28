import type { BrokerRegistry } from '../../brokers/registry.ts';
import type { BrokerAccount } from '../../brokers/types.ts';
import type { ServiceContext } from '../context.ts';
import { BrokerAuthExpired, BrokerRejected, BrokerUnavailable } from '../errors.ts';
import { openConnectionAdapter } from './connection-adapter.ts';
import { recordConnectionStatus } from './record-status.ts';

/**
 * Asks the broker for the account behind a connection. Success marks the connection `connected` (and learns its
 * account id); a refused login marks it `expired`, any other broker error `error`, each with the broker's reason.
 * The status is written before the error is passed on, so the trader's list shows what went wrong.
 */
export async function testConnection(
  ctx: ServiceContext,
  registry: BrokerRegistry,
  connectionId: number,
): Promise<{ status: 'connected'; account: BrokerAccount }> {
  const { connection, adapter } = await openConnectionAdapter(ctx, registry, connectionId);
  try {
    const account = await adapter.getAccount();
    await recordConnectionStatus(
      ctx,
      connection,
      { status: 'connected', statusMessage: null, accountId: account.accountId },
      'broker_connection.test',
    );
    return { status: 'connected', account };
  } catch (error) {
    if (error instanceof BrokerAuthExpired || error instanceof BrokerRejected || error instanceof BrokerUnavailable) {
      const status = error instanceof BrokerAuthExpired ? 'expired' : 'error';
      await recordConnectionStatus(ctx, connection, { status, statusMessage: error.message }, 'broker_connection.test');
    }
    throw error;
  }
}
