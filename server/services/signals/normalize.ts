/**
 * A parsed alert body → the normalized Signal (SPEC §4 step 3). Keys match ignoring case, `_`, `-` and spaces;
 * aliases resolve (symbol, qty, contracts, position_size, signalId/eventId/alertId, id → orderName); numbers may be
 * quoted or in exponent notation and become exact decimal strings; empty placeholders count as absent; unknown keys
 * are ignored (the raw body keeps them). The first problem found is the answer, in the order of FIELD_READERS.
 */
import { ORDER_TYPES, SIGNAL_ACTIONS, SIZING_TYPES, TIMES_IN_FORCE } from '#shared/enums.ts';
import {
  SIGNAL_ACTION_ALIASES,
  SIGNAL_COMMENT_MAX,
  SIGNAL_FIELD_ALIASES,
  SIGNAL_ORDER_NAME_MAX,
  SIGNAL_SENTIMENT_ALIASES,
  SIGNAL_SENTIMENTS,
  SIGNAL_TEXT_KEY_MAX,
  SIGNAL_TICKER_MAX,
  type Signal,
  type SignalRejectionCode,
  signalSchema,
} from '#shared/schemas/signal.ts';
import {
  canonicalKey,
  type Found,
  gather,
  isRecord,
  type Read,
  readDecimal,
  readEnum,
  readField,
  readText,
  show,
  textOf,
} from './fields.ts';
import { readTime } from './time.ts';

export type NormalizeResult =
  | { ok: true; signal: Signal }
  | { ok: false; code: SignalRejectionCode; message: string; field?: string };

/** canonical key → field name, for a field list and its aliases. */
function fieldTable(fields: readonly string[], aliases: Readonly<Record<string, readonly string[]>>) {
  const table = new Map<string, string>();
  for (const field of fields) {
    table.set(canonicalKey(field), field);
    for (const alias of aliases[field] ?? []) table.set(canonicalKey(alias), field);
  }
  return table;
}

const NO_ALIASES = {};
const TAKE_PROFIT_FIELDS = ['limitPrice', 'percent', 'amount'] as const;
const STOP_LOSS_FIELDS = ['stopPrice', 'percent', 'amount', 'limitPrice'] as const;
const TAKE_PROFIT = fieldTable(TAKE_PROFIT_FIELDS, NO_ALIASES);
const STOP_LOSS = fieldTable(STOP_LOSS_FIELDS, NO_ALIASES);
const PASSPHRASE = fieldTable(['passphrase'], NO_ALIASES);

const price = (found: Found) => readDecimal(found, 'positive', 'invalid-payload');

/**
 * takeProfit/stopLoss: an object whose fields are prices or distances; `exactly` lists the fields of which one and
 * only one must be given. An object of empty placeholders is absent.
 */
function bracket(field: string, table: ReadonlyMap<string, string>, exactly: readonly string[]) {
  return (found: Found): Read<Record<string, string> | undefined> => {
    if (!isRecord(found.value)) {
      return {
        ok: false,
        code: 'invalid-payload',
        message: `\`${found.key}\` must be an object such as {"percent": 2}`,
      };
    }
    const inner = gather(found.value, table);
    const result: Record<string, string> = {};
    for (const [name, list] of inner) {
      const nested = list.map((one) => ({ key: `${found.key}.${one.key}`, value: one.value }));
      const read = readField(`${field}.${name}`, nested, price);
      if (!read.ok) return { ...read, field: `${field}.${name}` };
      if (read.value !== undefined) result[name] = read.value;
    }
    if (Object.keys(result).length === 0) return { ok: true, value: undefined };
    if (exactly.filter((name) => result[name] !== undefined).length !== 1) {
      return {
        ok: false,
        code: 'invalid-payload',
        message: `\`${found.key}\` needs exactly one of ${exactly.join(', ')}`,
      };
    }
    return { ok: true, value: result };
  };
}

type Field = keyof Signal;

/** Every field of the Signal with its reader, in the order problems are reported. */
const FIELD_READERS: ReadonlyArray<readonly [Field, (found: Found) => Read<unknown>]> = [
  ['ticker', (f) => readText(f, { max: SIGNAL_TICKER_MAX, identifier: true, noSpaces: true })],
  ['action', (f) => readEnum(f, SIGNAL_ACTIONS, SIGNAL_ACTION_ALIASES, 'invalid-action')],
  ['sentiment', (f) => readEnum(f, SIGNAL_SENTIMENTS, SIGNAL_SENTIMENT_ALIASES, 'invalid-sentiment')],
  ['quantity', (f) => readDecimal(f, 'positive', 'invalid-quantity')],
  ['positionSize', (f) => readDecimal(f, 'signed', 'invalid-quantity')],
  ['quantityType', (f) => readEnum(f, SIZING_TYPES, NO_ALIASES, 'invalid-payload')],
  ['orderType', (f) => readEnum(f, ORDER_TYPES, NO_ALIASES, 'invalid-payload')],
  ['limitPrice', price],
  ['stopPrice', price],
  ['timeInForce', (f) => readEnum(f, TIMES_IN_FORCE, NO_ALIASES, 'invalid-payload')],
  ['takeProfit', bracket('takeProfit', TAKE_PROFIT, TAKE_PROFIT_FIELDS)],
  ['stopLoss', bracket('stopLoss', STOP_LOSS, ['stopPrice', 'percent', 'amount'])],
  ['price', price],
  ['time', readTime],
  ['comment', (f) => readText(f, { max: SIGNAL_COMMENT_MAX, truncate: true })],
  ['idempotencyKey', (f) => readText(f, { max: SIGNAL_TEXT_KEY_MAX, identifier: true })],
  ['orderName', (f) => readText(f, { max: SIGNAL_ORDER_NAME_MAX, truncate: true })],
];

const FIELDS = fieldTable(
  FIELD_READERS.map(([field]) => field),
  SIGNAL_FIELD_ALIASES,
);

/** Never throws: anything unforeseen is a malformed payload rather than a 500. */
export function normalizeSignal(value: unknown): NormalizeResult {
  try {
    return normalize(value);
  } catch {
    return { ok: false, code: 'malformed-payload', message: 'the alert could not be read as a signal' };
  }
}

function normalize(value: unknown): NormalizeResult {
  if (!isRecord(value)) {
    return { ok: false, code: 'malformed-payload', message: `the alert must be a JSON object, got ${show(value)}` };
  }
  const found = gather(value, FIELDS);
  const candidate: Partial<Record<Field, unknown>> = {};
  for (const [field, read] of FIELD_READERS) {
    const result = readField(field, found.get(field), read);
    if (!result.ok) return { ok: false, code: result.code, message: result.message, field: result.field ?? field };
    if (result.value !== undefined) candidate[field] = result.value;
    if (field === 'ticker' && candidate.ticker === undefined) {
      return { ok: false, code: 'missing-ticker', message: 'the alert has no `ticker` (or `symbol`)', field };
    }
    if (field === 'action' && candidate.action === undefined) {
      return { ok: false, code: 'invalid-action', message: `the alert has no \`action\` (${actions()})`, field };
    }
  }
  const conflict = sentimentConflict(candidate.action, candidate.sentiment);
  if (conflict) return { ok: false, code: 'invalid-sentiment', message: conflict, field: 'sentiment' };

  // The readers already produce the canonical shape; the shared schema is the last word on it.
  const parsed = signalSchema.safeParse(candidate);
  if (parsed.success) return { ok: true, signal: parsed.data };
  const issue = parsed.error.issues[0];
  return {
    ok: false,
    code: 'invalid-payload',
    message: issue?.message ?? 'the signal is invalid',
    field: issue?.path.join('.') || undefined,
  };
}

function actions(): string {
  return [...SIGNAL_ACTIONS, ...Object.keys(SIGNAL_ACTION_ALIASES)].join(', ');
}

/**
 * TradersPost's rules: a sentiment goes only with buy or sell, and says which side the position ends on, so buy
 * with short (or sell with long) contradicts itself.
 */
function sentimentConflict(action: unknown, sentiment: unknown): string | undefined {
  if (sentiment === undefined) return undefined;
  if (action !== 'buy' && action !== 'sell') return `sentiment is only allowed with buy or sell, not ${action}`;
  if ((action === 'buy' && sentiment === 'short') || (action === 'sell' && sentiment === 'long')) {
    return `sentiment ${sentiment} contradicts action ${action}`;
  }
  return undefined;
}

/**
 * The body's `passphrase`, kept out of the Signal so the route can compare it in constant time and nothing stores
 * it. Undefined when absent, empty, not text, or given twice with different values (fail closed: a strategy that
 * needs one then refuses the alert).
 */
export function extractPassphrase(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  const found = gather(value, PASSPHRASE).get('passphrase') ?? [];
  const texts = found.map((one) => textOf(one.value));
  const first = texts[0];
  return first !== undefined && texts.every((text) => text === first) ? first : undefined;
}
