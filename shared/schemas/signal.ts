import { z } from 'zod';
import { ORDER_TYPES, SIGNAL_ACTIONS, SIZING_TYPES, TIMES_IN_FORCE } from '../enums.ts';

/**
 * The normalized trading signal of SPEC §4 step 3: what the ingestion route stores as a webhook log's `payload` and
 * the signal job executes. The server builds it from a TradingView alert body (aliases, case and numeric strings
 * resolved); this schema is the canonical shape, so it is strict and never coerces. Browser-safe: zod only.
 */

/** Position direction a `buy`/`sell` asks for; TradersPost's bullish/bearish are normalized to long/short. */
export const SIGNAL_SENTIMENTS = ['long', 'short', 'flat'] as const;
export type SignalSentiment = (typeof SIGNAL_SENTIMENTS)[number];

/**
 * Why an alert from a valid token is refused: the `code` of the `{ok:false, code, message}` answer and the
 * `error_code` of its webhook log. Stable and kebab-case: add, never rename.
 * The normalizer produces `malformed-payload`, `invalid-payload` (a known field with an unusable value, or two
 * aliases that disagree), `missing-ticker`, `invalid-action`, `invalid-sentiment` and `invalid-quantity`; the route
 * decides the others from the strategy and the request.
 */
export const SIGNAL_REJECTION_CODES = [
  'malformed-payload',
  'invalid-payload',
  'missing-ticker',
  'invalid-action',
  'invalid-sentiment',
  'invalid-quantity',
  'invalid-passphrase',
  'stale-signal',
  'strategy-paused',
  'trading-disabled',
  'ip-not-allowed',
  'rate-limited',
] as const;
export type SignalRejectionCode = (typeof SIGNAL_REJECTION_CODES)[number];

/**
 * Other names a field may arrive under (TRADINGVIEW.md). Keys are also matched ignoring case, `_`, `-` and spaces,
 * so `Position_Size`, `limit_price` and `TIME-IN-FORCE` need no entry here. `id` is `{{strategy.order.id}}` (`Long`,
 * `Exit Long`), which repeats on every alert of that order: it is the order's name, never a deduplication key.
 */
export const SIGNAL_FIELD_ALIASES = {
  ticker: ['symbol'],
  quantity: ['qty', 'contracts'],
  positionSize: ['position_size'],
  idempotencyKey: ['signalId', 'eventId', 'alertId'],
  orderName: ['id'],
} as const;

/** Value aliases, matched ignoring case (cslev/tradleware had to accept long/short as actions). */
export const SIGNAL_ACTION_ALIASES = { long: 'buy', short: 'sell' } as const satisfies Record<
  string,
  (typeof SIGNAL_ACTIONS)[number]
>;
export const SIGNAL_SENTIMENT_ALIASES = { bullish: 'long', bearish: 'short' } as const satisfies Record<
  string,
  SignalSentiment
>;

export const SIGNAL_TICKER_MAX = 64;
export const SIGNAL_TEXT_KEY_MAX = 255;
export const SIGNAL_ORDER_NAME_MAX = 100;
export const SIGNAL_COMMENT_MAX = 500;
/** Decimal bounds: enough for any price or size, small enough that no value is ever costly to print or compare. */
export const SIGNAL_DECIMAL_INTEGER_DIGITS = 12;
/** TradingView prints float noise such as `1194.6000000000001`: kept exactly, rounding is the executor's job. */
export const SIGNAL_DECIMAL_FRACTION_DIGITS = 18;

const signedDecimalPattern = new RegExp(
  `^-?(0|[1-9]\\d{0,${SIGNAL_DECIMAL_INTEGER_DIGITS - 1}})(\\.\\d{0,${SIGNAL_DECIMAL_FRACTION_DIGITS - 1}}[1-9])?$`,
);

/** An exact decimal in canonical form: no exponent, no `+`, no leading or trailing zeros, no `-0`. */
export const signalDecimal = z
  .string()
  .regex(signedDecimalPattern, 'must be a canonical decimal')
  .refine((value) => value !== '-0', 'must be a canonical decimal');
export const positiveSignalDecimal = signalDecimal.refine(
  (value) => !value.startsWith('-') && /[1-9]/.test(value),
  'must be greater than 0',
);

/** One of a limit price, a percent or an amount away from the entry. */
export const takeProfitSchema = z
  .strictObject({
    limitPrice: positiveSignalDecimal.optional(),
    percent: positiveSignalDecimal.optional(),
    amount: positiveSignalDecimal.optional(),
  })
  .refine(
    (tp) => [tp.limitPrice, tp.percent, tp.amount].filter((v) => v !== undefined).length === 1,
    'needs exactly one of limitPrice, percent or amount',
  );

/** One of a stop price, a percent or an amount away from the entry; a limitPrice makes it a stop-limit. */
export const stopLossSchema = z
  .strictObject({
    stopPrice: positiveSignalDecimal.optional(),
    percent: positiveSignalDecimal.optional(),
    amount: positiveSignalDecimal.optional(),
    limitPrice: positiveSignalDecimal.optional(),
  })
  .refine(
    (sl) => [sl.stopPrice, sl.percent, sl.amount].filter((v) => v !== undefined).length === 1,
    'needs exactly one of stopPrice, percent or amount',
  );

const printable = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}\p{Cf}\p{Cs}]*$/u, 'must not contain control or invisible characters');

export const signalSchema = z
  .strictObject({
    ticker: printable(SIGNAL_TICKER_MAX).regex(/^\S+$/u, 'must not contain spaces'),
    action: z.enum(SIGNAL_ACTIONS),
    sentiment: z.enum(SIGNAL_SENTIMENTS).optional(),
    quantity: positiveSignalDecimal.optional(),
    quantityType: z.enum(SIZING_TYPES).optional(),
    orderType: z.enum(ORDER_TYPES).optional(),
    limitPrice: positiveSignalDecimal.optional(),
    stopPrice: positiveSignalDecimal.optional(),
    timeInForce: z.enum(TIMES_IN_FORCE).optional(),
    takeProfit: takeProfitSchema.optional(),
    stopLoss: stopLossSchema.optional(),
    /** The price the alert saw (`{{close}}`, `{{strategy.order.price}}`): informational and for sizing. */
    price: positiveSignalDecimal.optional(),
    /** When the alert fired, as an ISO instant (UTC, milliseconds): the route's staleness check compares it. */
    time: z.iso.datetime().optional(),
    comment: z.string().max(SIGNAL_COMMENT_MAX).optional(),
    /** Signed target position (negative = short): the order is `positionSize − current position`. */
    positionSize: signalDecimal.optional(),
    /** An explicit key, deduplicated forever per strategy. */
    idempotencyKey: printable(SIGNAL_TEXT_KEY_MAX).optional(),
    /** `{{strategy.order.id}}` such as `Long`: informational, never a deduplication key. */
    orderName: z.string().max(SIGNAL_ORDER_NAME_MAX).optional(),
  })
  .refine((s) => s.sentiment === undefined || s.action === 'buy' || s.action === 'sell', {
    message: 'sentiment is only allowed with buy or sell',
    path: ['sentiment'],
  });

export type Signal = z.infer<typeof signalSchema>;
export type TakeProfit = z.infer<typeof takeProfitSchema>;
export type StopLoss = z.infer<typeof stopLossSchema>;
