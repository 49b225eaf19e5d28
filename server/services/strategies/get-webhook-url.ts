import { strategies } from '#drizzle/schema/strategies.ts';
import { emitAudit } from '../../audit/emit.ts';
import { withTransaction } from '../../db/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { NotFound } from '../errors.ts';
import { ownedStrategy } from './view.ts';
import { revealWebhookUrl } from './webhook-token.ts';

/** Shows the owner the current webhook URL again (decrypted); every reveal is audited, since the URL is the key. */
export async function getWebhookUrl(ctx: ServiceContext, id: number): Promise<{ webhookUrl: string }> {
  return withTransaction(ctx, async (tx) => {
    const [row] = await tx
      .select({ id: strategies.id, webhookTokenEnc: strategies.webhookTokenEnc })
      .from(strategies)
      .where(ownedStrategy(ctx, id));
    if (!row) throw new NotFound('Strategy');
    const webhookUrl = revealWebhookUrl(row.id, row.webhookTokenEnc);
    await emitAudit(tx, ctx, { action: 'strategy.reveal_webhook', resourceType: 'strategy', resourceId: id });
    return { webhookUrl };
  });
}
