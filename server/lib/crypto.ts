/**
 * Secrets at rest (broker credentials, channel targets, webhook tokens): AES-256-GCM with a random 96-bit IV and a
 * 16-byte tag, bound to its row through AAD (`<table>:<id>`) so a ciphertext copied to another row does not decrypt.
 * Stored as `v1:<kid>:<iv>:<tag>:<ct>` (base64url parts). The first key of ENCRYPTION_KEYS encrypts; every key
 * decrypts, so keys rotate without downtime (`npm run keys:rotate` re-encrypts to the first key).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { env } from './env.ts';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface EncryptionKey {
  kid: string;
  key: Buffer;
}

export class DecryptionError extends Error {}

/** The AAD that binds a secret to its row, e.g. `aadFor('broker_connections', 12)`. */
export function aadFor(table: string, rowId: number): string {
  return `${table}:${rowId}`;
}

export function encryptSecret(plaintext: string, aad: string, keys: EncryptionKey[] = env.ENCRYPTION_KEYS): string {
  const primary = keys[0];
  if (!primary) throw new Error('no encryption key configured');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', primary.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [
    VERSION,
    primary.kid,
    iv.toString('base64url'),
    tag.toString('base64url'),
    ciphertext.toString('base64url'),
  ].join(':');
}

export function decryptSecret(stored: string, aad: string, keys: EncryptionKey[] = env.ENCRYPTION_KEYS): string {
  const [version, kid, ivText, tagText, ctText, extra] = stored.split(':');
  if (version !== VERSION || !kid || ivText === undefined || !tagText || ctText === undefined || extra !== undefined) {
    throw new DecryptionError('unrecognised secret format');
  }
  const key = keys.find((candidate) => candidate.kid === kid);
  if (!key) throw new DecryptionError(`no key with id "${kid}" is configured`);
  const iv = Buffer.from(ivText, 'base64url');
  const tag = Buffer.from(tagText, 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new DecryptionError('malformed secret');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(ctText, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new DecryptionError('secret failed authentication (wrong key, row or tampered value)');
  }
}

/** True when the value was encrypted with a key other than the current first one. */
export function needsReencryption(stored: string, keys: EncryptionKey[] = env.ENCRYPTION_KEYS): boolean {
  return stored.split(':')[1] !== keys[0]?.kid;
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** A URL-safe random token of `bytes` bytes (32 bytes = 256 bits). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Constant-time string comparison (compares digests, so the lengths leak nothing either). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
