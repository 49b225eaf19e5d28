import { emitAudit } from '../../audit/emit.ts';
import { withTransaction } from '../../db/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { invalidateWebhookStrategies } from '../webhooks/strategy-cache.ts';
import { loadOwnedStrategy } from './view.ts';
import { issueWebhookToken } from './webhook-token.ts';

/** A new webhook URL, answered once; the old token stops matching when this commits (its hash is replaced). */
export async function rotateWebhookToken(
  ctx: ServiceContext,
  id: number,
): Promise<{ webhookUrl: string; webhookToken: string }> {
  const issued = await withTransaction(ctx, async (tx) => {
    await loadOwnedStrategy(tx, ctx, id, { forUpdate: true });
    const issued = await issueWebhookToken(tx, id);
    await emitAudit(tx, ctx, { action: 'strategy.rotate_webhook_token', resourceType: 'strategy', resourceId: id });
    return issued;
  });
  // Committed: the old token answers 404 from the next alert.
  invalidateWebhookStrategies({ strategyIds: [id] });
  return issued;
}
