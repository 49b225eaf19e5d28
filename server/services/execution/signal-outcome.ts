/**
 * What an executed signal's log says, and what the trader is told (SPEC §5, the log's statuses): `executing` while
 * orders it placed are on their way (the order jobs finish it as `executed` or `failed`), `executed` for a cancel
 * that found working orders, `ignored` or `rejected` with the first route's code when no route placed an order. The
 * message lists every route that did not trade, so a trader sees why a connection was skipped.
 */
import { eq } from 'drizzle-orm';
import { webhookLogs } from '#drizzle/schema/webhook_logs.ts';
import type { WebhookLogStatus } from '#shared/enums.ts';
import { type ExecutionRejectionCode, QUIET_IGNORE_REASONS } from '#shared/execution.ts';
import type { Signal } from '#shared/schemas/signal.ts';
import type { Transaction } from '../../db/transaction.ts';
import { createNotification } from '../notifications/create.ts';
import type { RouteOutcome } from './plan-routes.ts';

export type SignalOutcome =
  | { kind: 'rejected'; code: ExecutionRejectionCode; message: string; routes: [] }
  | { kind: 'routes'; routes: RouteOutcome[] };

const MESSAGE_MAX = 1000;

function clip(text: string): string {
  return text.length > MESSAGE_MAX ? `${text.slice(0, MESSAGE_MAX - 1)}…` : text;
}

interface Verdict {
  status: WebhookLogStatus;
  code: string | null;
  message: string | null;
  notify: boolean;
}

function verdict(outcome: SignalOutcome): Verdict {
  if (outcome.kind === 'rejected') {
    return { status: 'rejected', code: outcome.code, message: outcome.message, notify: true };
  }
  const routes = outcome.routes;
  if (routes.length === 0) {
    const message = 'The strategy has no active routing rule: add one to send its signals to a broker';
    return { status: 'ignored', code: 'no-routes', message, notify: true };
  }
  const skipped = routes.flatMap((r) => (r.kind === 'ignored' || r.kind === 'rejected' ? [r] : []));
  const notes = routes.flatMap((r) => (r.kind === 'orders' && r.note ? [r.note] : []));
  const skippedText = [...skipped.map((r) => r.message), ...notes].join('; ') || null;
  if (routes.some((r) => r.kind === 'orders')) {
    return { status: 'executing', code: null, message: skippedText, notify: false };
  }
  if (routes.some((r) => r.kind === 'cancel')) {
    return { status: 'executed', code: null, message: skippedText, notify: false };
  }
  const rejected = skipped.find((r) => r.kind === 'rejected');
  if (rejected) return { status: 'rejected', code: rejected.code, message: skippedText, notify: true };
  const first = skipped[0];
  const reason = first?.kind === 'ignored' ? first.reason : 'no-routes';
  const quiet = skipped.every((r) => r.kind === 'ignored' && QUIET_IGNORE_REASONS.includes(r.reason));
  return { status: 'ignored', code: reason, message: skippedText, notify: !quiet };
}

export async function recordSignalOutcome(
  tx: Transaction,
  input: {
    log: { id: number; strategyId: number };
    strategy: { userId: number; name: string };
    signal: Signal;
    outcome: SignalOutcome;
  },
): Promise<WebhookLogStatus> {
  const { status, code, message, notify } = verdict(input.outcome);
  await tx
    .update(webhookLogs)
    .set({ status, errorCode: code, errorMessage: message === null ? null : clip(message) })
    .where(eq(webhookLogs.id, input.log.id));
  if (notify) {
    const rejected = status === 'rejected';
    await createNotification(tx, {
      userId: input.strategy.userId,
      type: rejected ? 'signal.rejected' : 'signal.ignored',
      severity: rejected ? 'error' : 'warning',
      title: `${input.signal.action} ${input.signal.ticker} ${rejected ? 'rejected' : 'ignored'} (${input.strategy.name})`,
      message: message ?? code ?? status,
      data: { webhookLogId: input.log.id, strategyId: input.log.strategyId, code },
    });
  }
  return status;
}
