import { Big } from 'big.js';
import { type Found, type Read, show, textOf } from './fields.ts';

/**
 * An alert's `time` as an ISO instant for the route's staleness check. Accepted: `{{time}}`/`{{timenow}}`
 * (`2025-01-15T14:30:05Z`), any ISO date-time with seconds optional, fraction and a zone (`Z` or `±hh:mm`), and
 * epoch seconds or milliseconds as a number or numeric string. A date-time without a zone is refused: read as UTC
 * or as local time it would be hours off, and the staleness check would pass or fail by accident.
 */

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const EPOCH = /^\d{1,16}(?:\.\d{1,9})?$/;
/** Below this an epoch is seconds (1e11 s is the year 5138), above it milliseconds (1e11 ms is 1973). */
const MS_THRESHOLD = 1e11;
const MIN_MS = Date.UTC(2000, 0, 1);
const MAX_MS = Date.UTC(2100, 0, 1);

export function readTime(found: Found): Read<string> {
  const text = textOf(found.value)?.trim();
  const ms = text === undefined ? undefined : EPOCH.test(text) ? epochMs(text) : isoMs(text);
  if (typeof ms === 'string') return { ok: false, code: 'invalid-payload', message: `\`${found.key}\` ${ms}` };
  if (ms === undefined || !(ms >= MIN_MS && ms < MAX_MS)) {
    return {
      ok: false,
      code: 'invalid-payload',
      message: `\`${found.key}\` must be an ISO date-time such as 2025-01-15T14:30:05Z or epoch seconds/milliseconds between 2000 and 2100, got ${show(found.value)}`,
    };
  }
  return { ok: true, value: new Date(ms).toISOString() };
}

function epochMs(text: string): number {
  const value = new Big(text);
  const ms = value.gte(MS_THRESHOLD) ? value : value.times(1000);
  return Number(ms.round(0, Big.roundDown).toFixed());
}

/** Milliseconds, undefined when not a date-time, or a message when only the zone is missing. */
function isoMs(text: string): number | string | undefined {
  const match = ISO.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s = '0', fraction = '', zone] = match;
  if (zone === undefined) return 'needs a time zone (Z or ±hh:mm): without one it is hours off for the staleness check';
  const parts = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const [year, month, day, hour, minute, second] = parts;
  const base = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(base);
  // Date.UTC rolls 2025-02-30 over to March 2: a date that does not exist is refused, not moved.
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    return undefined;
  }
  const millis = Number(fraction.padEnd(3, '0').slice(0, 3));
  return base + millis - offsetMs(zone.toUpperCase());
}

function offsetMs(zone: string): number {
  if (zone === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || '0');
  if (hours > 23 || minutes > 59) return Number.NaN;
  const sign = zone.startsWith('-') ? -1 : 1;
  return sign * (hours * 60 + minutes) * 60_000;
}
