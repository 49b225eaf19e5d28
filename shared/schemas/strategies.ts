import { z } from 'zod';
import { EXECUTION_MODES, ORDER_TYPES, SIZING_TYPES, TIMES_IN_FORCE } from '../enums.ts';
import { paginationInput } from '../pagination.ts';
import { idSchema, positiveDecimalString, requiredText, text } from './common.ts';

/**
 * TradingView's published webhook source addresses: the `tradingview` entry of a strategy's allowed IPs stands for
 * these four (TRADINGVIEW.md). The webhook route expands the preset when it checks a request's source address.
 */
export const TRADINGVIEW_IPS = ['52.89.214.238', '34.212.75.30', '54.218.53.128', '52.32.178.7'] as const;
export const ALLOWED_IP_PRESETS = ['tradingview'] as const;

export const STRATEGY_NAME_MAX = 100;
export const STRATEGY_DESCRIPTION_MAX = 2000;
export const MAX_ALLOWED_IP_ENTRIES = 50;
export const PASSPHRASE_MIN = 8;
export const PASSPHRASE_MAX = 128;

/** The defaults a new strategy gets for every setting it does not send (the same as the column defaults). */
export const STRATEGY_DEFAULTS = {
  executionMode: 'auto',
  allowedIps: null,
  maxSignalAgeS: 300,
  sizingType: 'fixed_quantity',
  sizingValue: '1',
  useSignalQuantity: true,
  allowShort: false,
  allowReverse: false,
  maxPositionQty: null,
  defaultOrderType: 'market',
  defaultTif: 'day',
  ratePerMinute: 60,
  ratePerHour: 500,
} as const;

const ipFormats = [z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()];

/** One allowed-source entry: the preset `tradingview`, an IPv4/IPv6 address or an IPv4/IPv6 CIDR. */
export const allowedIpEntry = z
  .string()
  .trim()
  .toLowerCase()
  .max(64)
  .refine(
    (value) =>
      (ALLOWED_IP_PRESETS as readonly string[]).includes(value) ||
      ipFormats.some((format) => format.safeParse(value).success),
    'must be "tradingview", an IP address or a CIDR such as 203.0.113.0/24',
  );

/** null or an empty list allows any source address; duplicates are dropped. */
export const allowedIpsSchema = z
  .array(allowedIpEntry)
  .max(MAX_ALLOWED_IP_ENTRIES)
  .nullable()
  .transform((entries) => (entries && entries.length > 0 ? [...new Set(entries)] : null));

/** The passphrase TradingView must send in the alert body; null clears it. Stored only as an argon2id hash. */
export const passphraseSchema = z
  .string()
  .min(PASSPHRASE_MIN, `must be at least ${PASSPHRASE_MIN} characters`)
  .max(PASSPHRASE_MAX, `must be at most ${PASSPHRASE_MAX} characters`)
  .nullable();

/** Every setting of a strategy with its own range check; create adds defaults, update makes each optional. */
const settings = {
  description: text(STRATEGY_DESCRIPTION_MAX).nullable(),
  executionMode: z.enum(EXECUTION_MODES),
  allowedIps: allowedIpsSchema,
  // Seconds an alert's `time` may lag behind arrival; null turns the staleness check off.
  maxSignalAgeS: z.number().int().min(5).max(86_400).nullable(),
  sizingType: z.enum(SIZING_TYPES),
  sizingValue: positiveDecimalString,
  useSignalQuantity: z.boolean(),
  allowShort: z.boolean(),
  allowReverse: z.boolean(),
  maxPositionQty: positiveDecimalString.nullable(),
  defaultOrderType: z.enum(ORDER_TYPES),
  defaultTif: z.enum(TIMES_IN_FORCE),
  ratePerMinute: z.number().int().min(1).max(600),
  ratePerHour: z.number().int().min(1).max(10_000),
  passphrase: passphraseSchema,
};

export const RATE_ORDER_MESSAGE = 'must be at least the per-minute rate';

/** An hourly limit below the per-minute one could never be reached; both values are the effective ones. */
export function ratesAreOrdered(rates: { ratePerMinute: number; ratePerHour: number }): boolean {
  return rates.ratePerHour >= rates.ratePerMinute;
}

export const createStrategyInput = z
  .object({
    name: requiredText(STRATEGY_NAME_MAX),
    description: settings.description.default(null),
    executionMode: settings.executionMode.default(STRATEGY_DEFAULTS.executionMode),
    allowedIps: settings.allowedIps.default(STRATEGY_DEFAULTS.allowedIps),
    maxSignalAgeS: settings.maxSignalAgeS.default(STRATEGY_DEFAULTS.maxSignalAgeS),
    sizingType: settings.sizingType.default(STRATEGY_DEFAULTS.sizingType),
    sizingValue: settings.sizingValue.default(STRATEGY_DEFAULTS.sizingValue),
    useSignalQuantity: settings.useSignalQuantity.default(STRATEGY_DEFAULTS.useSignalQuantity),
    allowShort: settings.allowShort.default(STRATEGY_DEFAULTS.allowShort),
    allowReverse: settings.allowReverse.default(STRATEGY_DEFAULTS.allowReverse),
    maxPositionQty: settings.maxPositionQty.default(STRATEGY_DEFAULTS.maxPositionQty),
    defaultOrderType: settings.defaultOrderType.default(STRATEGY_DEFAULTS.defaultOrderType),
    defaultTif: settings.defaultTif.default(STRATEGY_DEFAULTS.defaultTif),
    ratePerMinute: settings.ratePerMinute.default(STRATEGY_DEFAULTS.ratePerMinute),
    ratePerHour: settings.ratePerHour.default(STRATEGY_DEFAULTS.ratePerHour),
    passphrase: settings.passphrase.default(null),
  })
  .strict()
  .refine(ratesAreOrdered, { message: RATE_ORDER_MESSAGE, path: ['ratePerHour'] });
export type CreateStrategyInput = z.infer<typeof createStrategyInput>;

/**
 * A partial update: absent fields stay as they are, `null` clears a nullable one. When only one of the two rates is
 * sent, the service checks their order against the stored other one.
 */
export const updateStrategyInput = z
  .object({ name: requiredText(STRATEGY_NAME_MAX), ...settings })
  .partial()
  .extend({ id: idSchema })
  .strict()
  .refine(
    (input) =>
      input.ratePerMinute === undefined ||
      input.ratePerHour === undefined ||
      ratesAreOrdered({ ratePerMinute: input.ratePerMinute, ratePerHour: input.ratePerHour }),
    { message: RATE_ORDER_MESSAGE, path: ['ratePerHour'] },
  );
export type UpdateStrategyInput = z.infer<typeof updateStrategyInput>;

export const strategyIdInput = z.object({ id: idSchema }).strict();

export const listStrategiesInput = paginationInput
  .extend({
    // Paused strategies are listed only on request; deleted ones never are.
    includeInactive: z.boolean().default(false),
  })
  .strict();

/** Turning live trading on is an explicit, confirmed act (orders to live broker connections need it). */
export const enableLiveInput = z.object({ id: idSchema, confirm: z.literal(true) }).strict();

/** What the API shows of a strategy: never the token (hash or ciphertext) nor the passphrase hash. */
export const strategyView = z.object({
  id: z.number(),
  name: z.string(),
  description: z.string().nullable(),
  isActive: z.boolean(),
  executionMode: z.enum(EXECUTION_MODES),
  allowedIps: z.array(z.string()).nullable(),
  maxSignalAgeS: z.number().nullable(),
  sizingType: z.enum(SIZING_TYPES),
  sizingValue: z.string(),
  useSignalQuantity: z.boolean(),
  allowShort: z.boolean(),
  allowReverse: z.boolean(),
  maxPositionQty: z.string().nullable(),
  defaultOrderType: z.enum(ORDER_TYPES),
  defaultTif: z.enum(TIMES_IN_FORCE),
  liveEnabledAt: z.date().nullable(),
  ratePerMinute: z.number(),
  ratePerHour: z.number(),
  hasPassphrase: z.boolean(),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type StrategyView = z.infer<typeof strategyView>;

export const strategyPage = z.object({ items: z.array(strategyView), nextCursor: z.number().nullable() });

/** The webhook URL to paste into TradingView; the token is its last path segment. */
export const webhookUrlView = z.object({ webhookUrl: z.string() });

/** Answered once, by create and rotateWebhookToken: the plaintext token cannot be recovered from the hash. */
export const issuedWebhookView = z.object({ webhookUrl: z.string(), webhookToken: z.string() });

export const createdStrategyView = issuedWebhookView.extend({ strategy: strategyView });
