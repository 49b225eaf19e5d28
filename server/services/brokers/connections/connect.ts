import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import type { BrokerCredentials, ConnectInput, ConnectionView } from '#shared/schemas/brokers.ts';
import { emitAudit } from '../../../audit/emit.ts';
import { isDuplicateKey } from '../../../db/errors.ts';
import { withTransaction } from '../../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../../context.ts';
import { Conflict } from '../../errors.ts';
import { sealCredentials } from './credentials.ts';
import { cleanConnectionName, DUPLICATE_NAME, loadConnectionView } from './view.ts';

// Stands in for the ciphertext between the insert (which assigns the id the AAD needs) and the update that follows
// in the same transaction; it never commits.
const SEALING = 'sealing';

/**
 * Stores a broker connection with its credentials encrypted. Nothing calls the broker here: the status stays
 * `unknown` until a connection test or the session job checks it.
 */
export async function connect(ctx: ServiceContext, input: ConnectInput): Promise<ConnectionView> {
  const name = cleanConnectionName(input.name);
  const credentials: BrokerCredentials =
    input.broker === 'tradovate'
      ? // Tradovate enforces a stable device id per machine on live; one per connection keeps it stable.
        { ...input.credentials, deviceId: input.credentials.deviceId ?? randomUUID() }
      : input.credentials;
  const accountId = input.broker === 'ibkr' ? input.credentials.accountId : null;
  try {
    return await withTransaction(ctx, async (tx) => {
      const [inserted] = await tx
        .insert(brokerConnections)
        .values({
          userId: actingUserId(ctx),
          broker: input.broker,
          name,
          environment: input.environment,
          credentialsEnc: SEALING,
          accountId,
        })
        .$returningId();
      if (!inserted) throw new Error('broker connection insert returned no id');
      await tx
        .update(brokerConnections)
        .set({ credentialsEnc: sealCredentials(inserted.id, credentials) })
        .where(eq(brokerConnections.id, inserted.id));
      await emitAudit(tx, ctx, {
        action: 'broker_connection.connect',
        resourceType: 'broker_connection',
        resourceId: inserted.id,
        newValue: { broker: input.broker, name, environment: input.environment, accountId },
      });
      return loadConnectionView(tx, ctx, inserted.id);
    });
  } catch (error) {
    if (isDuplicateKey(error)) throw new Conflict(DUPLICATE_NAME);
    throw error;
  }
}
