/**
 * What ingestion needs to know about a strategy and its owner, loaded in one indexed query and kept in the strategy
 * cache. Holds the passphrase hash: never log or answer this object.
 */
import { and, eq, type SQL } from 'drizzle-orm';
import { strategies } from '#drizzle/schema/strategies.ts';
import { users } from '#drizzle/schema/users.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import { tradingAllowed } from '../account/trading-allowed.ts';
import { compileAllowedIps, type IpMatcher } from './ip-allowlist.ts';

export interface WebhookStrategy {
  id: number;
  userId: number;
  /** False once paused: alerts answer `strategy-paused`. */
  isActive: boolean;
  /** The owner's switch is on, no admin lock, and the account is not disabled. */
  tradingAllowed: boolean;
  /** NULL turns the staleness check off. */
  maxSignalAgeS: number | null;
  ratePerMinute: number;
  ratePerHour: number;
  /** argon2id of the passphrase alerts must carry, or null when none is required. */
  passphraseHash: string | null;
  ipAllowed: IpMatcher;
}

const columns = {
  id: strategies.id,
  userId: strategies.userId,
  isActive: strategies.isActive,
  maxSignalAgeS: strategies.maxSignalAgeS,
  ratePerMinute: strategies.ratePerMinute,
  ratePerHour: strategies.ratePerHour,
  passphraseHash: strategies.passphraseHash,
  allowedIps: strategies.allowedIps,
  tradingEnabled: users.tradingEnabled,
  tradingLockedAt: users.tradingLockedAt,
  disabledAt: users.disabledAt,
};

/** The live strategy (of a live user) matching `where`, or null: a deleted strategy is as unknown as a wrong token. */
async function findWebhookStrategy(db: DbOrTx, where: SQL | undefined): Promise<WebhookStrategy | null> {
  const [row] = await db
    .select(columns)
    .from(strategies)
    .innerJoin(users, eq(users.id, strategies.userId))
    .where(and(where, notDeleted(strategies), notDeleted(users)))
    .limit(1);
  if (!row) return null;
  return {
    id: row.id,
    userId: row.userId,
    isActive: row.isActive,
    tradingAllowed: tradingAllowed(row) && row.disabledAt === null,
    maxSignalAgeS: row.maxSignalAgeS,
    ratePerMinute: row.ratePerMinute,
    ratePerHour: row.ratePerHour,
    passphraseHash: row.passphraseHash,
    ipAllowed: compileAllowedIps(row.allowedIps),
  };
}

/** The route's lookup, served by strategies_webhook_token_hash_uq. */
export function findStrategyByTokenHash(db: DbOrTx, tokenHash: string): Promise<WebhookStrategy | null> {
  return findWebhookStrategy(db, eq(strategies.webhookTokenHash, tokenHash));
}

/** Simulation and replay: the signed-in owner's strategy, scoped in the query (another user's id is not found). */
export function findOwnedStrategy(db: DbOrTx, strategyId: number, userId: number): Promise<WebhookStrategy | null> {
  return findWebhookStrategy(db, and(eq(strategies.id, strategyId), eq(strategies.userId, userId)));
}
