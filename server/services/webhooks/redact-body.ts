/**
 * Masks secrets in a stored alert body before webhooks.getLog shows it. TradingView sends the strategy's passphrase
 * in the body (SPEC §4), and traders paste other keys there too (`apikey`, tokens), so the value of every field
 * whose name is secret-looking (server/lib/scrub.ts SECRET_KEY, tried on the name as written and on its canonical
 * form, so `Pass_Phrase` counts) becomes `"[redacted]"`. Everything else stays byte for byte: the trader compares
 * this text with the alert they configured, so it is masked in place rather than re-serialized. Bodies need not be
 * JSON (they may be malformed, which is why they were rejected), so this is a tolerant scan of string and word
 * tokens, not a parse.
 */
import { REDACTED, SECRET_KEY } from '../../lib/scrub.ts';
import { canonicalKey, isRecord, textOf } from '../signals/fields.ts';
import { readJson } from '../signals/json.ts';

const OPENERS: Record<string, string> = { '"': '"', '“': '"“”', '”': '"“”', "'": "'" };
const WORD = /[A-Za-z0-9_$.+-]/;
/** Shown instead of a body whose secrets the scan could not mask (never expected; fail closed). */
export const UNMASKABLE_BODY = `${REDACTED} (the body holds a secret field that could not be masked)`;

interface Token {
  start: number;
  end: number;
  /** The key this token would name: a string's decoded content or a bare word. */
  name: string;
}

function isSecretName(name: string): boolean {
  return SECRET_KEY.test(name) || SECRET_KEY.test(canonicalKey(name));
}

/** The string token opened at `start` (straight, curly or single quotes, as the ingestion reader allows). */
function stringAt(text: string, start: number): Token {
  const open = text.charAt(start);
  const closers = OPENERS[open] ?? '"';
  let i = start + 1;
  while (i < text.length && !closers.includes(text.charAt(i))) i += text.charAt(i) === '\\' && open !== '“' ? 2 : 1;
  const end = Math.min(i + 1, text.length);
  const content = text.slice(start + 1, Math.min(i, text.length));
  let name = content;
  if (open === '"') {
    try {
      name = JSON.parse(`"${content}"`) as string;
    } catch {
      // Not valid JSON escapes: match on the text as written.
    }
  }
  return { start, end, name };
}

function wordAt(text: string, start: number): Token {
  let end = start;
  while (end < text.length && WORD.test(text.charAt(end))) end++;
  return { start, end, name: text.slice(start, end) };
}

/** The scalar value starting at `start` (after `:`), or null for an object, an array or nothing. */
function valueAt(text: string, start: number): Token | null {
  let i = start;
  while (i < text.length && /\s/u.test(text.charAt(i))) i++;
  const first = text.charAt(i);
  if (first === '' || first === '{' || first === '[') return null;
  if (first in OPENERS) return stringAt(text, i);
  let end = i;
  while (end < text.length && !',}]\r\n'.includes(text.charAt(end))) end++;
  while (end > i && /\s/u.test(text.charAt(end - 1))) end--;
  return end > i ? { start: i, end, name: '' } : null;
}

/** Ranges of the values of secret-named keys, in order. */
function secretValueRanges(text: string): Array<{ start: number; end: number }> {
  const ranges: Array<{ start: number; end: number }> = [];
  let previous: Token | null = null;
  let i = 0;
  while (i < text.length) {
    const char = text.charAt(i);
    if (char in OPENERS || WORD.test(char)) {
      previous = char in OPENERS ? stringAt(text, i) : wordAt(text, i);
      i = previous.end;
      continue;
    }
    if (char === ':' && previous && isSecretName(previous.name)) {
      const value = valueAt(text, i + 1);
      if (value) {
        ranges.push(value);
        i = value.end;
        previous = null;
        continue;
      }
    }
    if (!/\s/u.test(char)) previous = null;
    i++;
  }
  return ranges;
}

/** True when a secret-named field of the parsed body still holds a value other than the mask. */
function leaksSecret(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(leaksSecret);
  if (!isRecord(value)) return false;
  return Object.entries(value).some(([key, inner]) => {
    if (isSecretName(key)) {
      const shown = textOf(inner);
      if (shown !== undefined && shown !== REDACTED && shown.trim() !== '') return true;
    }
    return leaksSecret(inner);
  });
}

export function redactBody(raw: string): string {
  let out = '';
  let from = 0;
  for (const range of secretValueRanges(raw)) {
    out += `${raw.slice(from, range.start)}"${REDACTED}"`;
    from = range.end;
  }
  out += raw.slice(from);
  // Belt and braces: whatever the ingestion reader would read as a secret must now read as the mask.
  const parsed = readJson(out);
  return parsed.ok && leaksSecret(parsed.value) ? UNMASKABLE_BODY : out;
}
