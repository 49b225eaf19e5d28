/**
 * Webhook tokens: 256 random bits, URL-safe, looked up by their SHA-256 and kept encrypted (bound to the row by AAD)
 * so the owner can see the URL again. The plaintext is answered once, by create and rotate, and stored nowhere.
 */
import { eq } from 'drizzle-orm';
import { strategies } from '#drizzle/schema/strategies.ts';
import type { Transaction } from '../../db/transaction.ts';
import { aadFor, decryptSecret, encryptSecret, randomToken, sha256Hex } from '../../lib/crypto.ts';
import { env } from '../../lib/env.ts';

export const WEBHOOK_PATH = '/api/v1/webhooks/tradingview/';

export function webhookUrlFor(token: string): string {
  return `${env.PUBLIC_BASE_URL}${WEBHOOK_PATH}${token}`;
}

/** The lookup key of a token, as stored in webhook_token_hash and computed by the webhook route. */
export function webhookTokenHash(token: string): string {
  return sha256Hex(token);
}

/**
 * A hash no token produces, for the insert that precedes issueWebhookToken (the ciphertext's AAD needs the row id).
 * Random, because the column is unique; it never commits, as the same transaction replaces it.
 */
export function placeholderTokenHash(): string {
  return sha256Hex(`placeholder:${randomToken()}`);
}

/**
 * Gives the strategy a new token in the caller's transaction, replacing the old hash so the old token stops
 * matching at once. The caller has already checked ownership.
 */
export async function issueWebhookToken(
  tx: Transaction,
  strategyId: number,
): Promise<{ webhookToken: string; webhookUrl: string }> {
  const webhookToken = randomToken(32);
  await tx
    .update(strategies)
    .set({
      webhookTokenHash: webhookTokenHash(webhookToken),
      webhookTokenEnc: encryptSecret(webhookToken, aadFor('strategies', strategyId)),
    })
    .where(eq(strategies.id, strategyId));
  return { webhookToken, webhookUrl: webhookUrlFor(webhookToken) };
}

/** Decrypts a stored token back into its URL. */
export function revealWebhookUrl(strategyId: number, webhookTokenEnc: string): string {
  return webhookUrlFor(decryptSecret(webhookTokenEnc, aadFor('strategies', strategyId)));
}
