import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { webhookLogs } from '#drizzle/schema/webhook_logs.ts';
import { SIGNAL_ACTIONS, type WebhookLogStatus } from '#shared/enums.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import type { ServiceContext } from '../context.ts';
import { NotFound, Precondition } from '../errors.ts';

/**
 * The least a stored signal must hold to be executable. Ingestion stored it after parsing with the shared Signal
 * schema; the execution issue parses it with that schema again and replaces this check.
 */
const storedSignal = z.looseObject({ ticker: z.string().min(1), action: z.enum(SIGNAL_ACTIONS) });

export interface ClaimResult {
  /** True for exactly one run per log: the run that moved it from `received` to `executing`. */
  claimed: boolean;
  status: WebhookLogStatus;
}

/**
 * Claims an accepted webhook log for execution: `received` → `executing`, by a conditional UPDATE, so two runs of
 * the same signal job (retry, stall, outbox re-enqueue) claim it once. Any other status is left alone (already
 * claimed, duplicate, rejected…). A missing or deleted log is NotFound; a stored payload that cannot be a signal
 * marks the log `failed` (so the outbox sweep stops picking it up) and is a Precondition failure. Both are final.
 */
export async function claimForExecution(ctx: ServiceContext, input: { webhookLogId: number }): Promise<ClaimResult> {
  const byId = and(eq(webhookLogs.id, input.webhookLogId), notDeleted(webhookLogs));
  const [log] = await ctx.db
    .select({ status: webhookLogs.status, payload: webhookLogs.payload })
    .from(webhookLogs)
    .where(byId)
    .limit(1);
  if (!log) throw new NotFound('webhook log');
  if (log.status !== 'received') return { claimed: false, status: log.status };

  const stillReceived = and(byId, eq(webhookLogs.status, 'received'));
  if (!storedSignal.safeParse(log.payload).success) {
    await ctx.db
      .update(webhookLogs)
      .set({ status: 'failed', errorCode: 'malformed-payload', errorMessage: 'stored signal is not executable' })
      .where(stillReceived);
    throw new Precondition('webhook log holds no executable signal');
  }
  const [result] = await ctx.db.update(webhookLogs).set({ status: 'executing' }).where(stillReceived);
  if (result.affectedRows === 1) return { claimed: true, status: 'executing' };
  // Another run claimed (or a person changed) the log between the read and the update.
  const [now] = await ctx.db.select({ status: webhookLogs.status }).from(webhookLogs).where(byId).limit(1);
  return { claimed: false, status: now?.status ?? 'executing' };
}
