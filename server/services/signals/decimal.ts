import { Big } from 'big.js';
import { SIGNAL_DECIMAL_FRACTION_DIGITS, SIGNAL_DECIMAL_INTEGER_DIGITS } from '#shared/schemas/signal.ts';

/**
 * Alert numbers to exact decimal strings without a float in between: `"10"`, `10`, `1e1` and `"1E+1"` all become
 * `"10"`; `1194.6000000000001` stays as sent. Only text that is a number in the JSON sense (plus a leading `+` or
 * a bare `.5`/`5.`) is accepted: `1,5`, `NaN`, `0x10` and `10 lots` are refused, since each has another reading.
 */

const NUMERIC_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
/** Longer than any real value; keeps big.js away from megabyte-long digit runs. */
const MAX_NUMERIC_TEXT = 64;

export type DecimalResult = { ok: true; value: string } | { ok: false; reason: string };

/**
 * `text` as a canonical decimal (no exponent, no trailing zeros, `-0` → `0`) within the Signal's bounds of
 * SIGNAL_DECIMAL_INTEGER_DIGITS integer and SIGNAL_DECIMAL_FRACTION_DIGITS fraction digits.
 */
export function toDecimal(text: string): DecimalResult {
  const trimmed = text.trim();
  if (trimmed.length > MAX_NUMERIC_TEXT || !NUMERIC_TEXT.test(trimmed)) return { ok: false, reason: 'is not a number' };
  const unsigned = trimmed.startsWith('+') ? trimmed.slice(1) : trimmed;
  // The exponent is checked before big.js expands it: `1e999999999` must not become a billion digits.
  const exponent = Number(/[eE]([+-]?\d+)$/.exec(unsigned)?.[1] ?? '0');
  if (Math.abs(exponent) > 100) return { ok: false, reason: 'is out of range' };
  const big = new Big(unsigned);
  if (big.eq(0)) return { ok: true, value: '0' };
  // big.js keeps `e` as the position of the first significant digit and `c` as the digits without zeros around.
  if (big.e >= SIGNAL_DECIMAL_INTEGER_DIGITS) {
    return { ok: false, reason: `has more than ${SIGNAL_DECIMAL_INTEGER_DIGITS} integer digits` };
  }
  if (big.c.length - big.e - 1 > SIGNAL_DECIMAL_FRACTION_DIGITS) {
    return { ok: false, reason: `has more than ${SIGNAL_DECIMAL_FRACTION_DIGITS} decimal places` };
  }
  return { ok: true, value: big.toFixed() };
}

export function isNegative(decimal: string): boolean {
  return decimal.startsWith('-');
}

export function isZero(decimal: string): boolean {
  return decimal === '0';
}
