/**
 * The alert passphrase, checked fast without weakening its storage. The strategy keeps only an argon2id hash
 * (server/services/strategies/settings.ts), and one argon2 verification costs ~30 ms of a libuv thread: at webhook
 * rates that would be the whole budget. So each (strategy, stored hash) runs argon2 once per distinct passphrase
 * presented and remembers the verdict as an HMAC of the passphrase under a random per-process key:
 * - a later alert is checked by one HMAC and a constant-time comparison against the remembered digest;
 * - the stored hash is part of the verdict's key, so a changed passphrase (new hash, new salt) never matches an old
 *   verdict, whatever the strategy cache still holds;
 * - the digest is keyed, so a memory dump does not give a fast hash to brute-force offline;
 * - wrong passphrases are remembered for a minute, so repeating one does not cost argon2 each time, and concurrent
 *   alerts with the same passphrase share one verification.
 * The passphrase never reaches a log or the database: the stored raw body has it redacted (redactPassphrases).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { verifyPassword } from '../../lib/passwords.ts';
import { SemaphoreFullError } from '../../lib/semaphore.ts';
import { ServiceUnavailable } from '../errors.ts';
import { canonicalKey, isRecord, textOf } from '../signals/fields.ts';

const HMAC_KEY = randomBytes(32);
const REJECTED_TTL_MS = 60_000;
const MAX_REJECTED_PER_STRATEGY = 32;
const MAX_VERDICTS = 10_000;
/** Longer than any passphrase the schema allows: refused without spending argon2 on it. */
const MAX_CANDIDATE_LENGTH = 1_024;

interface Verdicts {
  accepted?: Buffer;
  rejected: Map<string, number>;
}

const verdicts = new Map<string, Verdicts>();
const inflight = new Map<string, Promise<boolean>>();

function digestOf(candidate: string): Buffer {
  return createHmac('sha256', HMAC_KEY).update(candidate, 'utf8').digest();
}

function verdictsFor(key: string): Verdicts {
  let entry = verdicts.get(key);
  if (!entry) {
    if (verdicts.size >= MAX_VERDICTS) {
      const oldest = verdicts.keys().next().value;
      if (oldest !== undefined) verdicts.delete(oldest);
    }
    entry = { rejected: new Map() };
    verdicts.set(key, entry);
  }
  return entry;
}

/**
 * Whether `candidate` is the passphrase whose argon2id hash is `passphraseHash`. A missing candidate fails. A full
 * verification queue is a retryable ServiceUnavailable.
 */
export async function passphraseMatches(
  strategyId: number,
  passphraseHash: string,
  candidate: string | undefined,
): Promise<boolean> {
  if (candidate === undefined || candidate.length === 0 || candidate.length > MAX_CANDIDATE_LENGTH) return false;
  const key = `${strategyId}:${passphraseHash}`;
  const digest = digestOf(candidate);
  const known = verdicts.get(key);
  if (known?.accepted && timingSafeEqual(known.accepted, digest)) return true;
  const hex = digest.toString('hex');
  const rejectedUntil = known?.rejected.get(hex);
  if (rejectedUntil !== undefined && rejectedUntil > Date.now()) return false;

  const flightKey = `${key}:${hex}`;
  const pending = inflight.get(flightKey);
  if (pending) return pending;
  const verifying = verify(passphraseHash, candidate)
    .then((ok) => {
      const entry = verdictsFor(key);
      if (ok) {
        entry.accepted = digest;
      } else {
        if (entry.rejected.size >= MAX_REJECTED_PER_STRATEGY) entry.rejected.clear();
        entry.rejected.set(hex, Date.now() + REJECTED_TTL_MS);
      }
      return ok;
    })
    .finally(() => inflight.delete(flightKey));
  inflight.set(flightKey, verifying);
  return verifying;
}

async function verify(passphraseHash: string, candidate: string): Promise<boolean> {
  try {
    return await verifyPassword(passphraseHash, candidate);
  } catch (error) {
    if (error instanceof SemaphoreFullError) {
      throw new ServiceUnavailable('Too many passphrase checks at once; retry shortly');
    }
    throw error;
  }
}

// `passphrase` in any spelling the normalizer accepts (case, `_`, `-` and spaces ignored), between straight or
// curly quotes, then its value: a JSON string, a curly-quoted string, or a bare token up to the next comma or brace.
const PASSPHRASE_FIELD = new RegExp(
  `(["\u201c\u201d][\\s_-]*${[...'passphrase'].join('[\\s_-]*')}[\\s_-]*["\u201c\u201d]\\s*:\\s*)` +
    `(?:"(?:[^"\\\\]|\\\\.)*"|\u201c[^\u201d]*\u201d|[^,}\\s]+)`,
  'gi',
);

/**
 * The raw body as stored and shown to the trader, with the value of every passphrase field replaced by
 * `[redacted]`, so the secret is never kept in webhook_logs (malformed bodies included). `value` is the parsed body
 * when it parsed: passphrase values found there are also replaced wherever they appear verbatim (when long enough
 * not to clobber ordinary text). Deduplication still hashes the original bytes.
 */
export function redactPassphrases(raw: string, value?: unknown): string {
  let text = raw.replace(PASSPHRASE_FIELD, '$1"[redacted]"');
  if (!isRecord(value)) return text;
  for (const key of Object.keys(value)) {
    if (canonicalKey(key) !== canonicalKey('passphrase')) continue;
    const secret = textOf(value[key]);
    if (secret === undefined || secret.length < 8) continue;
    text = text.split(secret).join('[redacted]');
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret) text = text.split(escaped).join('[redacted]');
  }
  return text;
}
