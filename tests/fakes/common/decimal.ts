/**
 * Exact decimal arithmetic for prices, quantities and money in the fakes (big.js, never floats). Decimals travel as
 * normalised strings ("150", "150.25", "-3"); JSON numbers from a client are read through their shortest
 * round-trip text, which is the literal the client wrote for any price or quantity with ≤15 significant digits.
 */
import Big from 'big.js';

export { Big };

const DECIMAL_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)$/;

/** A decimal from a JSON string or number, or null when the value is not a finite decimal. */
export function parseDecimal(value: unknown): string | null {
  if (typeof value === 'number') return Number.isFinite(value) ? new Big(value).toFixed() : null;
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (!DECIMAL_TEXT.test(text)) return null;
  return new Big(text).toFixed();
}

export function big(value: Big.BigSource): Big {
  return value instanceof Big ? value : new Big(value);
}

/** Normal notation, trailing zeros dropped, rounded half-up to `dp` places (10 by default: enough for averages). */
export function fmt(value: Big.BigSource, dp = 10): string {
  return big(value).round(dp, Big.roundHalfUp).toFixed();
}

/** Fixed `dp` places, e.g. fixed("150", 2) → "150.00" (IBKR-style display prices). */
export function fixed(value: Big.BigSource, dp: number): string {
  return big(value).toFixed(dp, Big.roundHalfUp);
}

export function add(a: Big.BigSource, b: Big.BigSource): string {
  return big(a).plus(b).toFixed();
}

export function sub(a: Big.BigSource, b: Big.BigSource): string {
  return big(a).minus(b).toFixed();
}

export function mul(a: Big.BigSource, b: Big.BigSource): string {
  return big(a).times(b).toFixed();
}

/** Division rounded half-up to `dp` places. */
export function div(a: Big.BigSource, b: Big.BigSource, dp = 10): string {
  return big(a).div(b).round(dp, Big.roundHalfUp).toFixed();
}

export function cmp(a: Big.BigSource, b: Big.BigSource): -1 | 0 | 1 {
  return big(a).cmp(b);
}

export function isZero(a: Big.BigSource): boolean {
  return big(a).eq(0);
}

export function isPositive(a: Big.BigSource): boolean {
  return big(a).gt(0);
}

export function isInteger(a: Big.BigSource): boolean {
  const b = big(a);
  return b.eq(b.round(0, Big.roundDown));
}

export function abs(a: Big.BigSource): string {
  return big(a).abs().toFixed();
}

export function neg(a: Big.BigSource): string {
  return big(a).times(-1).toFixed();
}

export function min(a: Big.BigSource, b: Big.BigSource): string {
  return big(a).lt(b) ? big(a).toFixed() : big(b).toFixed();
}

export function max(a: Big.BigSource, b: Big.BigSource): string {
  return big(a).gt(b) ? big(a).toFixed() : big(b).toFixed();
}

export function roundDown(a: Big.BigSource, dp: number): string {
  return big(a).round(dp, Big.roundDown).toFixed();
}

/** -1, 0 or 1. */
export function sign(a: Big.BigSource): -1 | 0 | 1 {
  return big(a).cmp(0);
}

/** A decimal string as a JSON number, for brokers whose contract uses numbers (Tradovate, IBKR). Output only. */
export function num(a: Big.BigSource): number {
  return Number(big(a).toFixed());
}
