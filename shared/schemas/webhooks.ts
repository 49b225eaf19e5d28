import { z } from 'zod';
import {
  ORDER_TYPES,
  SIGNAL_ACTIONS,
  STAGING_STATUSES,
  TIMES_IN_FORCE,
  WEBHOOK_LOG_STATUSES,
  WEBHOOK_SOURCES,
} from '../enums.ts';
import { paginationInput } from '../pagination.ts';
import { dateRange, idSchema, text } from './common.ts';

/** The cap of SPEC §4 on an alert body, in UTF-8 bytes: simulated bodies obey it like real ones. */
export const MAX_WEBHOOK_BODY_BYTES = 64 * 1024;

const dateOrder = {
  check: (range: { from?: Date; to?: Date }) => !range.from || !range.to || range.from < range.to,
  message: '`from` must be earlier than `to`',
  path: ['to'],
} as const;

/** Logs of the caller's strategies, newest first; `from`/`to` bound when the log was written (from ≤ t < to). */
export const getWebhookLogsInput = paginationInput
  .extend({
    strategyId: idSchema.optional(),
    status: z.enum(WEBHOOK_LOG_STATUSES).optional(),
    ...dateRange.shape,
  })
  .strict()
  .refine(dateOrder.check, { message: dateOrder.message, path: [...dateOrder.path] })
  .default({ limit: 25 });
export type GetWebhookLogsInput = z.infer<typeof getWebhookLogsInput>;

export const webhookLogIdInput = z.strictObject({ id: idSchema });

function utf8Bytes(text: string): number {
  return new TextEncoder().encode(text).length;
}

/**
 * A simulated alert: the body TradingView would send, as text (sent as is, so malformed bodies can be tried too) or
 * as a JSON object (serialized; only JSON values, so it always serializes). Either way at most 64 KiB of UTF-8.
 */
export const simulateSignalInput = z.strictObject({
  strategyId: idSchema,
  payload: z
    .union([z.string().max(MAX_WEBHOOK_BODY_BYTES), z.record(z.string(), z.json())])
    .refine(
      (payload) => utf8Bytes(typeof payload === 'string' ? payload : JSON.stringify(payload)) <= MAX_WEBHOOK_BODY_BYTES,
      { message: `must be at most ${MAX_WEBHOOK_BODY_BYTES} bytes` },
    ),
});
export type SimulateSignalInput = z.infer<typeof simulateSignalInput>;

/** One row of webhooks.getLogs: what a log table shows, with the ticker and action read from the stored signal. */
export const webhookLogSummary = z.object({
  id: z.number(),
  strategyId: z.number(),
  strategyName: z.string(),
  source: z.enum(WEBHOOK_SOURCES),
  status: z.enum(WEBHOOK_LOG_STATUSES),
  errorCode: z.string().nullable(),
  errorMessage: z.string().nullable(),
  receivedAt: z.date(),
  processingMs: z.number().nullable(),
  duplicateOf: z.number().nullable(),
  /** Null when the body never became a signal (malformed, invalid…). */
  ticker: z.string().nullable(),
  action: z.enum(SIGNAL_ACTIONS).nullable(),
});
export type WebhookLogSummary = z.infer<typeof webhookLogSummary>;

export const webhookLogPage = z.object({ items: z.array(webhookLogSummary), nextCursor: z.number().nullable() });

export const WEBHOOK_LOG_EVENTS = ['received', 'replay-of', 'status', 'replayed'] as const;
export type WebhookLogEvent = (typeof WEBHOOK_LOG_EVENTS)[number];

/**
 * One entry of a log's status history, oldest first:
 * - `received`: the alert arrived (`at` = received_at, status `received`);
 * - `replay-of`: this log is a replay of log `logId` (replay logs only, at received_at);
 * - `status`: the log's current status when it moved on from `received` (`at` = updated_at, the last change; a
 *   duplicate's `logId` is the original). Intermediate statuses (e.g. `executing` before `executed`) are not kept
 *   anywhere, so they are not shown;
 * - `replayed`: the trader replayed this log as log `logId` (from the `webhook_log.replay` audit rows).
 */
export const webhookLogHistoryEntry = z.object({
  at: z.date(),
  event: z.enum(WEBHOOK_LOG_EVENTS),
  status: z.enum(WEBHOOK_LOG_STATUSES).nullable(),
  logId: z.number().nullable(),
});
export type WebhookLogHistoryEntry = z.infer<typeof webhookLogHistoryEntry>;

/** webhooks.getLog: the whole log, with secrets (passphrase, any token-like field) redacted from the raw body. */
export const webhookLogDetail = webhookLogSummary.extend({
  tradeId: z.number().nullable(),
  sourceIp: z.string().nullable(),
  contentType: z.string().nullable(),
  /**
   * The body as received, except the values of secret fields, replaced by `[redacted]`; null once it was pruned
   * (older than the operator's WEBHOOK_RAW_RETENTION_DAYS; the normalized `payload` is kept).
   */
  rawBody: z.string().nullable(),
  /** The normalized Signal; null when the body could not be normalized. */
  payload: z.record(z.string(), z.unknown()).nullable(),
  requestId: z.string().nullable(),
  /** For a replay log: the log it replays (found through the replay's audit row). */
  replayOf: z.number().nullable(),
  history: z.array(webhookLogHistoryEntry),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type WebhookLogDetail = z.infer<typeof webhookLogDetail>;

const accepted = z.object({ ok: z.literal(true), id: z.number(), status: z.literal('accepted') });
const duplicate = z.object({
  ok: z.literal(true),
  id: z.number(),
  status: z.literal('duplicate'),
  duplicateOf: z.number(),
});
/** Refused by a check (SPEC §4 step 4): still logged, as `id`, with the code and message the route would send. */
const rejected = z.object({
  ok: z.literal(false),
  id: z.number(),
  status: z.literal('rejected'),
  code: z.string(),
  message: z.string(),
});

/**
 * webhooks.simulateSignal: the webhook route's answer body (SPEC §4) for the alert, with `status: "rejected"` added
 * to refusals. Every outcome has the id of the log it wrote.
 */
export const ingestAnswer = z.discriminatedUnion('status', [accepted, duplicate, rejected]);
export type IngestAnswer = z.infer<typeof ingestAnswer>;

/** webhooks.replay: the answer for the new log, and the log it replays. */
const replayOf = { replayOf: z.number() };
export const replayAnswer = z.discriminatedUnion('status', [
  accepted.extend(replayOf),
  duplicate.extend(replayOf),
  rejected.extend(replayOf),
]);
export type ReplayAnswer = z.infer<typeof replayAnswer>;

/** webhooks.getStaged: the caller's staged signals (manual mode), newest first. */
export const getStagedInput = paginationInput
  .extend({ strategyId: idSchema.optional(), status: z.enum(STAGING_STATUSES).optional() })
  .strict()
  .default({ limit: 25 });
export type GetStagedInput = z.infer<typeof getStagedInput>;

export const stagedIdInput = z.strictObject({ id: idSchema });

/** webhooks.rejectStaged: the reason is free text, stored without markup. */
export const rejectStagedInput = z.strictObject({ id: idSchema, reason: text(500).optional() });
export type RejectStagedInput = z.infer<typeof rejectStagedInput>;

/**
 * A staged signal as the trader decides on it: what would be ordered (decimals as exact strings; a null quantity
 * means the strategy's sizing decides), until when, and the decision once made. `decidedBy` is the trader who
 * approved or rejected it; an expired signal has no decider.
 */
export const stagedTradeView = z.object({
  id: z.number(),
  strategyId: z.number(),
  strategyName: z.string(),
  webhookLogId: z.number(),
  symbol: z.string(),
  action: z.enum(SIGNAL_ACTIONS),
  quantity: z.string().nullable(),
  orderType: z.enum(ORDER_TYPES),
  tif: z.enum(TIMES_IN_FORCE),
  limitPrice: z.string().nullable(),
  stopPrice: z.string().nullable(),
  takeProfitPrice: z.string().nullable(),
  stopLossPrice: z.string().nullable(),
  status: z.enum(STAGING_STATUSES),
  expiresAt: z.date(),
  decidedBy: z.number().nullable(),
  decidedAt: z.date().nullable(),
  decisionReason: z.string().nullable(),
  createdAt: z.date(),
});
export type StagedTradeView = z.infer<typeof stagedTradeView>;

export const stagedTradePage = z.object({ items: z.array(stagedTradeView), nextCursor: z.number().nullable() });
