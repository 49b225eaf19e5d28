/**
 * The one place that decides which strategy columns a read may load: the safe ones only. The token hash, its
 * ciphertext and the passphrase hash are never selected here, so no answer built from these rows can leak them.
 */
import { and, eq, sql } from 'drizzle-orm';
import { strategies } from '#drizzle/schema/strategies.ts';
import type { StrategyView } from '#shared/schemas/strategies.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { DbOrTx } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { NotFound } from '../errors.ts';

export const strategyColumns = {
  id: strategies.id,
  name: strategies.name,
  description: strategies.description,
  isActive: strategies.isActive,
  executionMode: strategies.executionMode,
  allowedIps: strategies.allowedIps,
  maxSignalAgeS: strategies.maxSignalAgeS,
  sizingType: strategies.sizingType,
  sizingValue: strategies.sizingValue,
  useSignalQuantity: strategies.useSignalQuantity,
  allowShort: strategies.allowShort,
  allowReverse: strategies.allowReverse,
  maxPositionQty: strategies.maxPositionQty,
  defaultOrderType: strategies.defaultOrderType,
  defaultTif: strategies.defaultTif,
  liveEnabledAt: strategies.liveEnabledAt,
  ratePerMinute: strategies.ratePerMinute,
  ratePerHour: strategies.ratePerHour,
  // Whether a passphrase is set, computed in SQL so the hash itself never leaves the database.
  hasPassphrase: sql<boolean>`(${strategies.passphraseHash} is not null)`.mapWith((value) => Number(value) === 1),
  createdAt: strategies.createdAt,
  updatedAt: strategies.updatedAt,
};

/** The caller's live strategy `id`, scoped in the query; another user's id is NotFound like a missing one. */
export function ownedStrategy(ctx: ServiceContext, id: number) {
  return and(eq(strategies.id, id), eq(strategies.userId, actingUserId(ctx)), notDeleted(strategies));
}

/**
 * Loads the caller's strategy or throws NotFound. `forUpdate` locks the row for the rest of the transaction, so the
 * old values a mutation audits are the ones it replaced.
 */
export async function loadOwnedStrategy(
  db: DbOrTx,
  ctx: ServiceContext,
  id: number,
  options: { forUpdate?: boolean } = {},
): Promise<StrategyView> {
  const query = db.select(strategyColumns).from(strategies).where(ownedStrategy(ctx, id));
  const [row] = options.forUpdate ? await query.for('update') : await query;
  if (!row) throw new NotFound('Strategy');
  return row;
}
