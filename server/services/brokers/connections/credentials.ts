/**
 * Broker credentials at rest: JSON, AES-256-GCM, bound to their row by `broker_connections:<id>` as AAD. Only this
 * file turns them into ciphertext and back; nothing else should hold them longer than one broker call.
 */
import type { Broker } from '#shared/enums.ts';
import { type BrokerCredentials, credentialSchemas } from '#shared/schemas/brokers.ts';
import { aadFor, decryptSecret, encryptSecret } from '../../../lib/crypto.ts';

export function sealCredentials(connectionId: number, credentials: BrokerCredentials): string {
  return encryptSecret(JSON.stringify(credentials), aadFor('broker_connections', connectionId));
}

/** Decrypts and re-validates stored credentials; throws when the ciphertext belongs to another row or was altered. */
export function openCredentials(broker: Broker, connectionId: number, sealed: string): BrokerCredentials {
  const plaintext = decryptSecret(sealed, aadFor('broker_connections', connectionId));
  return credentialSchemas[broker].parse(JSON.parse(plaintext));
}

/** The fields a broker's credentials need, for error messages. */
export function credentialFields(broker: Broker): string {
  return Object.keys(credentialSchemas[broker].shape).join(', ');
}

/**
 * A hint the trader can recognise a key by: the last four characters of the Alpaca key id or Tradovate user name
 * (IBKR's account id is shown in full anyway). Short values get no hint, so a hint never is the whole value.
 */
export function credentialHint(credentials: BrokerCredentials): string | null {
  const visible = 'keyId' in credentials ? credentials.keyId : 'sec' in credentials ? credentials.name : null;
  return visible && visible.length >= 8 ? `…${visible.slice(-4)}` : null;
}
