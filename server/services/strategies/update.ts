import { eq } from 'drizzle-orm';
import { strategies } from '#drizzle/schema/strategies.ts';
import { ratesAreOrdered, type StrategyView, type UpdateStrategyInput } from '#shared/schemas/strategies.ts';
import { emitAudit } from '../../audit/emit.ts';
import { isDuplicateKey } from '../../db/errors.ts';
import { withTransaction } from '../../db/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { Conflict, InvalidInput } from '../errors.ts';
import { invalidateWebhookStrategies } from '../webhooks/strategy-cache.ts';
import { NAME_TAKEN } from './create.ts';
import {
  diffSettings,
  hashPassphrase,
  passphraseMarker,
  type StrategyColumnsPatch,
  sanitizeDescription,
  sanitizeName,
} from './settings.ts';
import { loadOwnedStrategy } from './view.ts';

/**
 * Changes the given settings; absent ones stay. Only fields whose value really changes are written and audited
 * (old and new values); an update that changes nothing writes nothing.
 */
export async function updateStrategy(ctx: ServiceContext, input: UpdateStrategyInput): Promise<StrategyView> {
  const { id, name, description, passphrase, ...settings } = input;
  const patch: StrategyColumnsPatch = { ...settings };
  if (name !== undefined) patch.name = sanitizeName(name);
  if (description !== undefined) patch.description = sanitizeDescription(description);
  // Hashed before the transaction: argon2 takes tens of milliseconds and must not hold the row lock.
  const passphraseHash = typeof passphrase === 'string' ? await hashPassphrase(passphrase) : passphrase;
  try {
    const after = await withTransaction(ctx, async (tx) => {
      const before = await loadOwnedStrategy(tx, ctx, id, { forUpdate: true });
      const rates = {
        ratePerMinute: patch.ratePerMinute ?? before.ratePerMinute,
        ratePerHour: patch.ratePerHour ?? before.ratePerHour,
      };
      if (!ratesAreOrdered(rates)) {
        throw new InvalidInput(`ratePerHour must be at least ratePerMinute (${rates.ratePerMinute})`);
      }
      const { changes, oldValue, newValue } = diffSettings(before, patch);
      // A new passphrase always counts as a change (its hash cannot be compared); clearing an absent one does not.
      if (passphraseHash !== undefined && (passphraseHash !== null || before.hasPassphrase)) {
        changes.passphraseHash = passphraseHash;
        oldValue.passphrase = passphraseMarker(before.hasPassphrase);
        newValue.passphrase = passphraseMarker(passphraseHash !== null);
      }
      if (Object.keys(changes).length === 0) return before;
      await tx.update(strategies).set(changes).where(eq(strategies.id, id));
      await emitAudit(tx, ctx, {
        action: 'strategy.update',
        resourceType: 'strategy',
        resourceId: id,
        oldValue,
        newValue,
      });
      return loadOwnedStrategy(tx, ctx, id);
    });
    // Committed: rates, allowed addresses, passphrase and staleness apply from the next alert.
    invalidateWebhookStrategies({ strategyIds: [id] });
    return after;
  } catch (error) {
    if (isDuplicateKey(error)) throw new Conflict(NAME_TAKEN);
    throw error;
  }
}
