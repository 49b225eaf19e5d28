/**
 * How portfolio figures are written (docs/portfolio-figures.md): money exact, in its shortest decimal form; averages
 * rounded half-up to the columns' 8 decimals; ratios and percentages rounded half-up to 4 decimals. Never a float.
 */
import { Big } from 'big.js';

/** Big with its own settings: divisions and square roots keep 30 decimals before the final rounding. */
export const Dec = Big();
Dec.DP = 30;
Dec.RM = Big.roundHalfUp;

export const MONEY_SCALE = 8;
export const RATIO_SCALE = 4;

/** Shortest form of an exact decimal: no exponent, no trailing zeros, '0' rather than '-0'. */
export function shortest(value: Big | string | number): string {
  const big = new Dec(value);
  return big.eq(0) ? '0' : big.toFixed();
}

/**
 * A SQL decimal (or null, for an empty SUM) as money, in shortest form. MySQL already writes plain decimals
 * ('-12.50000000'), so trimming the zeros is enough; anything else goes through Big.
 */
export function money(value: string | null | undefined): string {
  if (value === null || value === undefined) return '0';
  if (!PLAIN_DECIMAL.test(value)) return shortest(value);
  const trimmed = value.includes('.') ? value.replace(/\.?0+$/, '') : value;
  return trimmed === '-0' || trimmed === '' ? '0' : trimmed;
}

const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;

/** Rounded half-up to `scale` decimals, in shortest form. */
export function roundTo(value: Big, scale: number): string {
  return shortest(value.round(scale, Big.roundHalfUp));
}

/** numerator / denominator rounded to `scale`, or null when the denominator is zero. */
export function quotient(numerator: Big | string, denominator: Big | string, scale: number): string | null {
  const d = new Dec(denominator);
  if (d.eq(0)) return null;
  return roundTo(new Dec(numerator).div(d), scale);
}
