/**
 * Which connection columns reads load, and how a row becomes what the API shows. The ciphertext is loaded only to
 * derive the masked hint and is dropped before anything is returned.
 */
import { and, eq } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import type { ConnectionView } from '#shared/schemas/brokers.ts';
import { notDeleted } from '../../../db/soft-delete.ts';
import type { DbOrTx } from '../../../db/transaction.ts';
import { sanitizeText } from '../../../lib/sanitize.ts';
import { actingUserId, type ServiceContext } from '../../context.ts';
import { InvalidInput, NotFound } from '../../errors.ts';
import { credentialHint, openCredentials } from './credentials.ts';

export const connectionColumns = {
  id: brokerConnections.id,
  broker: brokerConnections.broker,
  name: brokerConnections.name,
  environment: brokerConnections.environment,
  accountId: brokerConnections.accountId,
  status: brokerConnections.status,
  statusMessage: brokerConnections.statusMessage,
  lastCheckedAt: brokerConnections.lastCheckedAt,
  sessionExpiresAt: brokerConnections.sessionExpiresAt,
  createdAt: brokerConnections.createdAt,
  credentialsEnc: brokerConnections.credentialsEnc,
};

type ConnectionRow = Pick<typeof brokerConnections.$inferSelect, keyof typeof connectionColumns>;

/** The caller's live connection `id`, scoped in the query: another user's id is NotFound like a missing one. */
export function ownedConnection(ctx: ServiceContext, id: number) {
  return and(
    eq(brokerConnections.id, id),
    eq(brokerConnections.userId, actingUserId(ctx)),
    notDeleted(brokerConnections),
  );
}

export function toConnectionView(ctx: ServiceContext, row: ConnectionRow): ConnectionView {
  const { credentialsEnc, ...safe } = row;
  let hint: string | null = null;
  try {
    hint = credentialHint(openCredentials(row.broker, row.id, credentialsEnc));
  } catch {
    // A row whose key was retired still lists; the trader just sees no hint. Never log the value.
    ctx.log.warn({ brokerConnectionId: row.id }, 'broker credentials could not be decrypted for a hint');
  }
  return { ...safe, credentialHint: hint };
}

export async function loadConnectionView(db: DbOrTx, ctx: ServiceContext, id: number): Promise<ConnectionView> {
  const [row] = await db.select(connectionColumns).from(brokerConnections).where(ownedConnection(ctx, id));
  if (!row) throw new NotFound('Broker connection');
  return toConnectionView(ctx, row);
}

/** A connection name with markup removed; a name that was only markup is refused. */
export function cleanConnectionName(name: string): string {
  const clean = sanitizeText(name);
  if (!clean) throw new InvalidInput('The connection name must contain text, not only markup');
  return clean;
}

export const DUPLICATE_NAME = 'You already have a broker connection with this name';
