/**
 * A JSON reader for alert bodies. JSON.parse cannot do what ingestion needs: repair the few unambiguous mistakes
 * TradingView users make (SPEC §4 step 2), say where the problem is, keep numbers as their exact text, refuse
 * absurd nesting and build objects that cannot pollute a prototype. It accepts exactly JSON plus:
 * - U+FEFF (BOM) and Unicode spaces (NBSP, U+2000–U+200B, …) between tokens, where JSON only allows ASCII spaces;
 * - strings delimited by curly double quotes (“…”, what text editors make of "…"), closed by the next double-quote
 *   character of any kind; curly quotes inside a straight-quoted string are content and stay;
 * - one trailing comma before `}` or `]`.
 * Anything else (single quotes, empty values, NaN, comments, text around the value) is an error with its position.
 */

/** A JSON number as its source text, so `12345678901234567890` and `0.1` never pass through a float. */
export class JsonNumber {
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }
  /** Serialized as the exact text (a string), never as a float. */
  toJSON(): string {
    return this.source;
  }
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
/** A null-prototype object: `__proto__`, `constructor` and `prototype` keys are dropped while reading. */
export interface JsonObject {
  [key: string]: JsonValue;
}

export const JSON_REPAIRS = ['bom', 'unicode-space', 'curly-quotes', 'trailing-comma', 'unsafe-key'] as const;
export type JsonRepair = (typeof JSON_REPAIRS)[number];

/** Deeper than any alert needs (a signal is two levels), shallow enough that recursion stays cheap. */
export const MAX_JSON_DEPTH = 32;

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Thrown inside the reader only; `readJson` turns it into a result. */
export class JsonSyntaxError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

export type ReadJsonResult =
  | { ok: true; value: JsonValue; repairs: JsonRepair[] }
  | { ok: false; message: string; offset: number };

export function readJson(text: string): ReadJsonResult {
  const reader = new Reader(text);
  try {
    const value = reader.document();
    return { ok: true, value, repairs: JSON_REPAIRS.filter((repair) => reader.repairs.has(repair)) };
  } catch (error) {
    if (error instanceof JsonSyntaxError) return { ok: false, message: error.message, offset: error.offset };
    // A RangeError or anything unforeseen still answers malformed-payload rather than a 500.
    return { ok: false, message: 'the body could not be read as JSON', offset: reader.pos };
  }
}

/** Non-ASCII characters that are only ever padding between tokens. */
function isUnicodeSpace(code: number): boolean {
  return (
    code === 0xa0 ||
    code === 0x0b ||
    code === 0x0c ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200b) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x2060 ||
    code === 0x3000
  );
}

/** “ ” „ ‟: what editors and phones turn a typed " into. */
function isCurlyDoubleQuote(code: number): boolean {
  return code >= 0x201c && code <= 0x201f;
}

/** How a character is named in a message: visible characters quoted, invisible ones as U+XXXX. */
export function describeChar(text: string, offset: number): string {
  const code = text.codePointAt(offset);
  if (code === undefined) return 'end of the body';
  if (code < 0x20 || code === 0x7f || isUnicodeSpace(code) || code === 0xfeff || (code >= 0xd800 && code <= 0xdfff)) {
    return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return `'${String.fromCodePoint(code)}'`;
}

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class Reader {
  readonly text: string;
  pos = 0;
  readonly repairs = new Set<JsonRepair>();

  constructor(text: string) {
    this.text = text;
  }

  document(): JsonValue {
    this.space();
    if (this.pos >= this.text.length) throw new JsonSyntaxError('the body is empty', this.pos);
    const value = this.value(1);
    this.space();
    if (this.pos < this.text.length) {
      throw new JsonSyntaxError(`unexpected ${describeChar(this.text, this.pos)} after the JSON value`, this.pos);
    }
    return value;
  }

  private fail(expected: string): never {
    throw new JsonSyntaxError(`unexpected ${describeChar(this.text, this.pos)}, expected ${expected}`, this.pos);
  }

  private space(): void {
    const { text } = this;
    while (this.pos < text.length) {
      const code = text.charCodeAt(this.pos);
      if (code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09) {
        this.pos++;
      } else if (code === 0xfeff) {
        this.repairs.add('bom');
        this.pos++;
      } else if (isUnicodeSpace(code)) {
        this.repairs.add('unicode-space');
        this.pos++;
      } else {
        return;
      }
    }
  }

  private value(depth: number): JsonValue {
    this.space();
    const code = this.text.charCodeAt(this.pos);
    if (code === 0x7b) return this.object(depth);
    if (code === 0x5b) return this.array(depth);
    if (code === 0x22 || isCurlyDoubleQuote(code)) return this.string();
    if (code === 0x2d || (code >= 0x30 && code <= 0x39)) return this.number();
    for (const [word, literal] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return literal;
      }
    }
    this.singleQuote();
    return this.fail('a value (a "string", a number, true, false, null, an object or an array)');
  }

  /** ' and ‘ ’ get their own message: the fix (use ") is obvious once said. */
  private singleQuote(): void {
    const code = this.text.charCodeAt(this.pos);
    if (code === 0x27 || code === 0x2018 || code === 0x2019) {
      throw new JsonSyntaxError('single quotes are not JSON: quote strings with "', this.pos);
    }
  }

  private enter(depth: number): void {
    if (depth > MAX_JSON_DEPTH) {
      throw new JsonSyntaxError(`nesting deeper than ${MAX_JSON_DEPTH} levels`, this.pos);
    }
    this.pos++;
    this.space();
  }

  /** After a member or element: true when the container goes on, false when `close` ended it. */
  private next(close: number, closeChar: string): boolean {
    this.space();
    const code = this.text.charCodeAt(this.pos);
    if (code === close) {
      this.pos++;
      return false;
    }
    if (code !== 0x2c) this.fail(`',' or '${closeChar}'`);
    this.pos++;
    this.space();
    if (this.text.charCodeAt(this.pos) === close) {
      this.repairs.add('trailing-comma');
      this.pos++;
      return false;
    }
    return true;
  }

  private object(depth: number): JsonObject {
    this.enter(depth);
    const result: JsonObject = Object.create(null);
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return result;
    }
    do {
      const keyAt = this.pos;
      const code = this.text.charCodeAt(this.pos);
      if (code !== 0x22 && !isCurlyDoubleQuote(code)) {
        this.singleQuote();
        this.fail('a "quoted" key');
      }
      const key = this.string();
      this.space();
      if (this.text.charCodeAt(this.pos) !== 0x3a) this.fail(`':' after the key "${key.slice(0, 40)}"`);
      this.pos++;
      const value = this.value(depth + 1);
      if (UNSAFE_KEYS.has(key)) {
        this.repairs.add('unsafe-key');
      } else if (Object.hasOwn(result, key)) {
        // JSON.parse keeps the last one silently; for an order that is a coin toss, so refuse it.
        throw new JsonSyntaxError(`duplicate key "${key.slice(0, 40)}"`, keyAt);
      } else {
        result[key] = value;
      }
    } while (this.next(0x7d, '}'));
    return result;
  }

  private array(depth: number): JsonValue[] {
    this.enter(depth);
    const result: JsonValue[] = [];
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return result;
    }
    do {
      result.push(this.value(depth + 1));
    } while (this.next(0x5d, ']'));
    return result;
  }

  private string(): string {
    const { text } = this;
    const start = this.pos;
    const curly = text.charCodeAt(start) !== 0x22;
    if (curly) this.repairs.add('curly-quotes');
    this.pos++;
    let result = '';
    let chunk = this.pos;
    while (this.pos < text.length) {
      const code = text.charCodeAt(this.pos);
      if (code === 0x22 || (curly && isCurlyDoubleQuote(code))) {
        result += text.slice(chunk, this.pos);
        this.pos++;
        return result;
      }
      if (code < 0x20) {
        throw new JsonSyntaxError(`control character ${describeChar(text, this.pos)} inside a string`, this.pos);
      }
      if (code === 0x5c) {
        result += text.slice(chunk, this.pos);
        result += this.escape();
        chunk = this.pos;
      } else {
        this.pos++;
      }
    }
    throw new JsonSyntaxError('unterminated string', start);
  }

  private escape(): string {
    const letter = this.text.charAt(this.pos + 1);
    const simple = ESCAPES[letter];
    if (simple !== undefined) {
      this.pos += 2;
      return simple;
    }
    const hex = this.text.slice(this.pos + 2, this.pos + 6);
    if (letter === 'u' && /^[0-9a-fA-F]{4}$/.test(hex)) {
      this.pos += 6;
      return String.fromCharCode(Number.parseInt(hex, 16));
    }
    throw new JsonSyntaxError('invalid escape sequence in a string', this.pos);
  }

  private number(): JsonNumber {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) return this.fail('a digit');
    this.pos += match[0].length;
    // `01`, `1.` and `1e` stop the match early; the leftover is reported as an unexpected character.
    const after = this.text.charCodeAt(this.pos);
    if ((after >= 0x30 && after <= 0x39) || after === 0x2e || after === 0x65 || after === 0x45) {
      throw new JsonSyntaxError(`invalid number ${describeChar(this.text, this.pos)}`, this.pos);
    }
    return new JsonNumber(match[0]);
  }
}
