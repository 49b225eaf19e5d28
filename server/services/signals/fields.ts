/**
 * Readers for one field of an alert: they accept what TradingView templates really send (numbers quoted or not,
 * any case, empty placeholders) and answer either the canonical value or why it is unusable.
 */
import type { SignalRejectionCode } from '#shared/schemas/signal.ts';
import { toDecimal } from './decimal.ts';
import { JsonNumber, type JsonObject } from './json.ts';

/** `field` names a nested field (`takeProfit.percent`) when the failure is deeper than the field being read. */
export type Read<T> =
  | { ok: true; value: T }
  | { ok: false; code: SignalRejectionCode; message: string; field?: string };

/** A field's values as found under every key that names it (`qty` and `Quantity` both name `quantity`). */
export interface Found {
  key: string;
  value: unknown;
}

/** `Position_Size`, `position-size` and `positionSize` are one key: case, `_`, `-` and spaces do not count. */
export function canonicalKey(key: string): string {
  return key.toLowerCase().replace(/[\s_-]/gu, '');
}

export function isRecord(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof JsonNumber);
}

/** null, "" and whitespace are what an unset placeholder leaves behind: the field is absent. */
export function isMissing(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/**
 * Groups the present values of `record` by the field their key names in `fields` (canonical key → field name).
 * Keys that name no field are ignored: the raw body keeps them.
 */
export function gather(record: JsonObject, fields: ReadonlyMap<string, string>): Map<string, Found[]> {
  const found = new Map<string, Found[]>();
  for (const key of Object.keys(record)) {
    const field = fields.get(canonicalKey(key));
    const value = record[key];
    if (field === undefined || isMissing(value)) continue;
    const list = found.get(field) ?? [];
    list.push({ key, value });
    found.set(field, list);
  }
  return found;
}

/** A short, safe rendering of what was received, for messages the trader reads. */
export function show(value: unknown): string {
  if (value instanceof JsonNumber) return clip(value.source);
  if (typeof value === 'string') return JSON.stringify(clip(value));
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  return Array.isArray(value) ? 'a list' : 'an object';
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** The text of a string or number value (`7203` is a ticker too); undefined for anything else. */
export function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof JsonNumber) return value.source;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** Lone surrogates (from `\ud800` escapes) cannot be stored as utf8mb4: replace them like TextDecoder would. */
export function wellFormed(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** Control, format (zero-width space, BOM, bidi marks) and lone surrogate characters: `AAPL\u200b` is no ticker. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}]/u;

export interface TextRules {
  max: number;
  /** Longer text is cut at `max` (informational fields) instead of refused (identifiers). */
  truncate?: boolean;
  /** Identifiers refuse invisible characters; free text keeps them for the sanitizer downstream. */
  identifier?: boolean;
  noSpaces?: boolean;
}

export function readText(found: Found, rules: TextRules, code: SignalRejectionCode = 'invalid-payload'): Read<string> {
  const raw = textOf(found.value);
  if (raw === undefined) return { ok: false, code, message: `\`${found.key}\` must be text, got ${show(found.value)}` };
  const trimmed = raw.trim();
  if (rules.identifier && INVISIBLE.test(trimmed)) {
    return { ok: false, code, message: `\`${found.key}\` must not contain control or invisible characters` };
  }
  const text = wellFormed(trimmed);
  if (rules.noSpaces && /\s/u.test(text)) {
    return { ok: false, code, message: `\`${found.key}\` must not contain spaces, got ${show(text)}` };
  }
  if (text.length <= rules.max) return { ok: true, value: text };
  if (rules.truncate) return { ok: true, value: truncate(text, rules.max) };
  return { ok: false, code, message: `\`${found.key}\` must be at most ${rules.max} characters` };
}

/** `Stop-Limit`, ` GTC ` and `Fixed Quantity` → `stop_limit`, `gtc`, `fixed_quantity`. */
export function readEnum<T extends string>(
  found: Found,
  values: readonly T[],
  aliases: Readonly<Record<string, T>>,
  code: SignalRejectionCode,
): Read<T> {
  const text =
    typeof found.value === 'string'
      ? found.value
          .trim()
          .toLowerCase()
          .replace(/[\s-]+/gu, '_')
      : undefined;
  // Object.hasOwn: `constructor` or `__proto__` must not find Object.prototype's members.
  const value =
    text === undefined
      ? undefined
      : (values as readonly string[]).includes(text)
        ? text
        : Object.hasOwn(aliases, text)
          ? aliases[text]
          : undefined;
  if (value !== undefined) return { ok: true, value: value as T };
  const allowed = [...values, ...Object.keys(aliases)].join(', ');
  return { ok: false, code, message: `\`${found.key}\` must be one of ${allowed}, got ${show(found.value)}` };
}

/** At most `max` UTF-16 units, cut between code points so no surrogate pair is split. */
function truncate(text: string, max: number): string {
  let out = '';
  for (const char of text) {
    if (out.length + char.length > max) break;
    out += char;
  }
  return out;
}

export type Sign = 'positive' | 'signed';

/** A number or numeric string as an exact decimal; `positive` also refuses zero. */
export function readDecimal(found: Found, sign: Sign, code: SignalRejectionCode): Read<string> {
  const text = textOf(found.value);
  const what = sign === 'positive' ? 'a number greater than 0' : 'a number';
  const result = text === undefined ? undefined : toDecimal(text);
  if (!result?.ok) {
    const reason = result ? ` (it ${result.reason})` : '';
    return { ok: false, code, message: `\`${found.key}\` must be ${what}${reason}, got ${show(found.value)}` };
  }
  if (sign === 'positive' && (result.value === '0' || result.value.startsWith('-'))) {
    return { ok: false, code, message: `\`${found.key}\` must be ${what}, got ${show(found.value)}` };
  }
  return { ok: true, value: result.value };
}

/**
 * One field read from every key that names it. Two keys that mean the same field (`ticker` and `symbol`,
 * `qty` and `Quantity`) must agree once normalized; otherwise which one wins would be a guess.
 */
export function readField<T>(
  field: string,
  found: Found[] | undefined,
  read: (one: Found) => Read<T>,
): Read<T | undefined> {
  if (!found || found.length === 0) return { ok: true, value: undefined };
  let first: { key: string; value: T; json: string } | undefined;
  for (const one of found) {
    const result = read(one);
    if (!result.ok) return result;
    const json = JSON.stringify(result.value);
    if (!first) first = { key: one.key, value: result.value, json };
    else if (first.json !== json) {
      return {
        ok: false,
        code: 'invalid-payload',
        message: `\`${first.key}\` and \`${one.key}\` both give the ${field} but disagree`,
      };
    }
  }
  return { ok: true, value: first?.value };
}
