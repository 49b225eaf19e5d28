import type { RejectStagedInput, StagedTradeView } from '#shared/schemas/webhooks.ts';
import { withTransaction } from '../../db/transaction.ts';
import { sanitizeText } from '../../lib/sanitize.ts';
import type { ServiceContext } from '../context.ts';
import { moveStagedLog, recordDecision } from './decide.ts';

/**
 * webhooks.rejectStaged: in one transaction the staged signal turns `rejected` (with the trader, the time and the
 * optional reason, stored as plain text), its log ends `rejected` with error code `staging-rejected`, and the
 * decision is audited. Nothing reaches a broker.
 */
export async function rejectStaged(ctx: ServiceContext, input: RejectStagedInput): Promise<StagedTradeView> {
  const reason = input.reason ? sanitizeText(input.reason).slice(0, 500) || null : null;
  return withTransaction(ctx, async (tx) => {
    const staged = await recordDecision(tx, ctx, input.id, { status: 'rejected', reason });
    await moveStagedLog(tx, staged.webhookLogId, {
      status: 'rejected',
      errorCode: 'staging-rejected',
      errorMessage: reason ? `Rejected in review: ${reason}` : 'Rejected in review; no order was placed',
    });
    return staged;
  });
}
