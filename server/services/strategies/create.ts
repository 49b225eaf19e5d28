import { strategies } from '#drizzle/schema/strategies.ts';
import type { CreateStrategyInput, StrategyView } from '#shared/schemas/strategies.ts';
import { emitAudit } from '../../audit/emit.ts';
import { isDuplicateKey } from '../../db/errors.ts';
import { withTransaction } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { Conflict } from '../errors.ts';
import { auditSettings, hashPassphrase, sanitizeDescription, sanitizeName } from './settings.ts';
import { loadOwnedStrategy } from './view.ts';
import { issueWebhookToken, placeholderTokenHash } from './webhook-token.ts';

export const NAME_TAKEN = 'A strategy with this name already exists';

/** Creates a strategy and answers its webhook URL and token: the only time the token is shown with the strategy. */
export async function createStrategy(
  ctx: ServiceContext,
  input: CreateStrategyInput,
): Promise<{ strategy: StrategyView; webhookUrl: string; webhookToken: string }> {
  const { name, description, passphrase, ...settings } = input;
  const values = {
    ...settings,
    userId: actingUserId(ctx),
    name: sanitizeName(name),
    description: sanitizeDescription(description),
    passphraseHash: passphrase === null ? null : await hashPassphrase(passphrase),
  };
  try {
    return await withTransaction(ctx, async (tx) => {
      // The token's ciphertext is bound to the row id, so insert first and issue the token in the same transaction.
      const [inserted] = await tx
        .insert(strategies)
        .values({ ...values, webhookTokenHash: placeholderTokenHash(), webhookTokenEnc: '' })
        .$returningId();
      if (!inserted) throw new Error('strategy insert returned no id');
      const issued = await issueWebhookToken(tx, inserted.id);
      const strategy = await loadOwnedStrategy(tx, ctx, inserted.id);
      await emitAudit(tx, ctx, {
        action: 'strategy.create',
        resourceType: 'strategy',
        resourceId: strategy.id,
        newValue: auditSettings(strategy),
      });
      return { strategy, ...issued };
    });
  } catch (error) {
    // The only unique key a new row can hit is (user_id, name, live): the token hash is 256 random bits.
    if (isDuplicateKey(error)) throw new Conflict(NAME_TAKEN);
    throw error;
  }
}
