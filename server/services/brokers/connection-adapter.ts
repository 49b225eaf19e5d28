/**
 * A connection's broker adapter: the row (owner-scoped for traders, by id for system jobs), its decrypted
 * credentials, and the registry's guarded adapter for it (built once per credentials version).
 */
import { and, eq } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import type { BrokerRegistry } from '../../brokers/registry.ts';
import type { GuardedAdapter } from '../../brokers/resilience.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import { sha256Hex } from '../../lib/crypto.ts';
import type { ServiceContext } from '../context.ts';
import { NotFound } from '../errors.ts';
import { openCredentials } from './connections/credentials.ts';
import { ownedConnection } from './connections/view.ts';

const columns = {
  id: brokerConnections.id,
  userId: brokerConnections.userId,
  broker: brokerConnections.broker,
  environment: brokerConnections.environment,
  status: brokerConnections.status,
  credentialsEnc: brokerConnections.credentialsEnc,
};

export type ConnectionRow = Omit<Pick<typeof brokerConnections.$inferSelect, keyof typeof columns>, 'credentialsEnc'>;

export interface OpenedConnection {
  connection: ConnectionRow;
  adapter: GuardedAdapter;
}

/** Traders reach their own live connections only; system jobs (ctx.actor.type 'system') reach any live one. */
export async function openConnectionAdapter(
  ctx: ServiceContext,
  registry: BrokerRegistry,
  connectionId: number,
): Promise<OpenedConnection> {
  const scope =
    ctx.actor.type === 'system'
      ? and(eq(brokerConnections.id, connectionId), notDeleted(brokerConnections))
      : ownedConnection(ctx, connectionId);
  const [row] = await ctx.db.select(columns).from(brokerConnections).where(scope);
  if (!row) throw new NotFound('Broker connection');
  const { credentialsEnc, ...connection } = row;
  return { connection, adapter: adapterForConnection(registry, row) };
}

/** The registry's adapter for a connection row already read (with its sealed credentials). */
export function adapterForConnection(
  registry: BrokerRegistry,
  row: Pick<typeof brokerConnections.$inferSelect, 'id' | 'broker' | 'environment' | 'credentialsEnc'>,
): GuardedAdapter {
  // New credentials (or a re-encryption) yield a fresh adapter; a status or name change keeps the live session.
  const version = sha256Hex(row.credentialsEnc);
  // Credentials are decrypted only to build an adapter, not on every call through one.
  return (
    registry.cached(row.id, version) ??
    registry.forConnection({
      id: row.id,
      broker: row.broker,
      environment: row.environment,
      credentials: openCredentials(row.broker, row.id, row.credentialsEnc),
      version,
    })
  );
}
