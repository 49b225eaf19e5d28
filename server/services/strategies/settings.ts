/**
 * Turning validated settings into column values (sanitized text, hashed passphrase) and describing changes for the
 * audit trail without secrets.
 */
import type { strategies } from '#drizzle/schema/strategies.ts';
import type { StrategyView } from '#shared/schemas/strategies.ts';
import { hashPassword } from '../../lib/passwords.ts';
import { sanitizeText } from '../../lib/sanitize.ts';
import { runHashing } from '../auth/hashing.ts';
import { InvalidInput } from '../errors.ts';

export type StrategyColumnsPatch = Partial<typeof strategies.$inferInsert>;

export function sanitizeName(name: string): string {
  const clean = sanitizeText(name);
  // A name made only of markup sanitizes to nothing; the schema cannot see that, so refuse it here.
  if (!clean) throw new InvalidInput('The name must contain text, not only markup');
  return clean;
}

export function sanitizeDescription(description: string | null): string | null {
  return description === null ? null : sanitizeText(description) || null;
}

/**
 * argon2id through the account passwords' bounded queue (full: a retryable 503); runs before any transaction opens
 * since it takes tens of milliseconds.
 */
export function hashPassphrase(passphrase: string): Promise<string> {
  return runHashing(() => hashPassword(passphrase));
}

/** How an audit row tells whether a passphrase is set: the value is redacted by key name either way. */
export function passphraseMarker(isSet: boolean): string | null {
  return isSet ? 'set' : null;
}

/** The settings of a strategy as an audit value: everything but ids and timestamps, the passphrase as a marker. */
export function auditSettings(view: StrategyView): Record<string, unknown> {
  const { id: _id, createdAt: _createdAt, updatedAt: _updatedAt, hasPassphrase, ...settings } = view;
  return { ...settings, passphrase: passphraseMarker(hasPassphrase) };
}

const DECIMAL_FIELDS = new Set(['sizingValue', 'maxPositionQty']);

/** "001.50" and "1.50000000" are the same decimal; compare digits, never floats. */
function canonicalDecimal(value: string): string {
  const [whole = '0', fraction = ''] = value.split('.');
  const digits = fraction.replace(/0+$/, '');
  const integer = whole.replace(/^0+(?=\d)/, '');
  return digits ? `${integer}.${digits}` : integer;
}

function sameValue(field: string, before: unknown, after: unknown): boolean {
  if (typeof before === 'string' && typeof after === 'string' && DECIMAL_FIELDS.has(field)) {
    return canonicalDecimal(before) === canonicalDecimal(after);
  }
  if (Array.isArray(before) || Array.isArray(after)) return JSON.stringify(before) === JSON.stringify(after);
  return before === after;
}

/** The fields of `patch` whose value differs from `before`, with their old and new values for the audit row. */
export function diffSettings(
  before: StrategyView,
  patch: StrategyColumnsPatch,
): { changes: StrategyColumnsPatch; oldValue: Record<string, unknown>; newValue: Record<string, unknown> } {
  const changes: Record<string, unknown> = {};
  const oldValue: Record<string, unknown> = {};
  const newValue: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const old = (before as Record<string, unknown>)[field];
    if (sameValue(field, old, value)) continue;
    changes[field] = value;
    oldValue[field] = old;
    newValue[field] = value;
  }
  return { changes: changes as StrategyColumnsPatch, oldValue, newValue };
}
