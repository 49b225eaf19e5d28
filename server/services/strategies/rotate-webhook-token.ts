import { emitAudit } from '../../audit/emit.ts';
import { withTransaction } from '../../db/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { loadOwnedStrategy } from './view.ts';
import { issueWebhookToken } from './webhook-token.ts';

/** A new webhook URL, answered once; the old token stops matching when this commits (its hash is replaced). */
export async function rotateWebhookToken(
  ctx: ServiceContext,
  id: number,
): Promise<{ webhookUrl: string; webhookToken: string }> {
  return withTransaction(ctx, async (tx) => {
    await loadOwnedStrategy(tx, ctx, id, { forUpdate: true });
    const issued = await issueWebhookToken(tx, id);
    await emitAudit(tx, ctx, { action: 'strategy.rotate_webhook_token', resourceType: 'strategy', resourceId: id });
    return issued;
  });
}
