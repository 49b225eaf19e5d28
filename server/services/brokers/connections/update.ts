import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import type { Broker } from '#shared/enums.ts';
import {
  type BrokerCredentials,
  type ConnectionView,
  credentialSchemas,
  type UpdateConnectionInput,
} from '#shared/schemas/brokers.ts';
import { emitAudit } from '../../../audit/emit.ts';
import { isDuplicateKey } from '../../../db/errors.ts';
import { withTransaction } from '../../../db/transaction.ts';
import type { ServiceContext } from '../../context.ts';
import { Conflict, InvalidInput, NotFound } from '../../errors.ts';
import { credentialFields, openCredentials, sealCredentials } from './credentials.ts';
import { cleanConnectionName, DUPLICATE_NAME, loadConnectionView, ownedConnection } from './view.ts';

/**
 * Renames a connection and/or replaces its credentials. New credentials must fit the connection's broker; they
 * make every fact learnt from the old ones stale, so status, account and session fields go back to unknown.
 */
export async function updateConnection(ctx: ServiceContext, input: UpdateConnectionInput): Promise<ConnectionView> {
  const name = input.name === undefined ? undefined : cleanConnectionName(input.name);
  try {
    return await withTransaction(ctx, async (tx) => {
      const [row] = await tx
        .select({
          id: brokerConnections.id,
          broker: brokerConnections.broker,
          name: brokerConnections.name,
          status: brokerConnections.status,
          accountId: brokerConnections.accountId,
          credentialsEnc: brokerConnections.credentialsEnc,
        })
        .from(brokerConnections)
        .where(ownedConnection(ctx, input.id))
        .for('update');
      if (!row) throw new NotFound('Broker connection');

      const changes: Partial<typeof brokerConnections.$inferInsert> = {};
      const changed: string[] = [];
      if (name !== undefined && name !== row.name) {
        changes.name = name;
        changed.push('name');
      }
      if (input.credentials) {
        const credentials = fitCredentials(row.broker, input.credentials, row);
        Object.assign(changes, {
          credentialsEnc: sealCredentials(row.id, credentials),
          accountId: 'accountId' in credentials ? credentials.accountId : null,
          status: 'unknown',
          statusMessage: null,
          lastCheckedAt: null,
          sessionExpiresAt: null,
        });
        changed.push('credentials');
      }
      if (changed.length > 0) {
        await tx.update(brokerConnections).set(changes).where(eq(brokerConnections.id, row.id));
        await emitAudit(tx, ctx, {
          action: 'broker_connection.update',
          resourceType: 'broker_connection',
          resourceId: row.id,
          oldValue: { name: row.name, status: row.status, accountId: row.accountId },
          newValue: {
            name: changes.name ?? row.name,
            status: changes.status ?? row.status,
            accountId: changes.accountId === undefined ? row.accountId : changes.accountId,
            changed,
          },
        });
      }
      return loadConnectionView(tx, ctx, row.id);
    });
  } catch (error) {
    if (isDuplicateKey(error)) throw new Conflict(DUPLICATE_NAME);
    throw error;
  }
}

function fitCredentials(
  broker: Broker,
  given: BrokerCredentials,
  row: { id: number; credentialsEnc: string },
): BrokerCredentials {
  const parsed = credentialSchemas[broker].safeParse(given);
  if (!parsed.success) {
    throw new InvalidInput(
      `These credentials do not fit a ${broker} connection (expected ${credentialFields(broker)})`,
    );
  }
  const credentials = parsed.data;
  if (!('sec' in credentials) || credentials.deviceId) return credentials;
  // Keep the device id Tradovate already knows; a changing one breaks live order placement.
  return { ...credentials, deviceId: previousDeviceId(broker, row) ?? randomUUID() };
}

function previousDeviceId(broker: Broker, row: { id: number; credentialsEnc: string }): string | undefined {
  try {
    const previous = openCredentials(broker, row.id, row.credentialsEnc);
    return 'deviceId' in previous ? previous.deviceId : undefined;
  } catch {
    return undefined;
  }
}
