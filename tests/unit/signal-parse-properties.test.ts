/**
 * Properties of alert parsing: a valid signal survives every repairable disguise (text/plain, padding, BOM, curly
 * quotes, trailing commas, case noise) unchanged; numbers stay exact; plain JSON reads as JSON.parse reads it; and
 * no input at all makes the parser or the normalizer throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractPassphrase, JsonNumber, normalizeSignal, parseAlertBody } from '../../server/services/signals/parse.ts';
import { SIGNAL_REJECTION_CODES, signalSchema } from '../../shared/schemas/signal.ts';

/** A JSON number written exactly as `text`. */
class Num {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}
interface Entry {
  key: string;
  value: Ast;
  /** Known keys and enum values get case noise; unknown keys keep theirs (they are ignored anyway). */
  known?: boolean;
  enumValue?: boolean;
}
type Ast = string | boolean | null | Num | Ast[] | { entries: Entry[] };

function isObjectAst(ast: Ast): ast is { entries: Entry[] } {
  return typeof ast === 'object' && ast !== null && 'entries' in ast;
}

function plain(ast: Ast): string {
  if (ast instanceof Num) return ast.text;
  if (Array.isArray(ast)) return `[${ast.map(plain).join(',')}]`;
  if (isObjectAst(ast)) return `{${ast.entries.map((e) => `${JSON.stringify(e.key)}:${plain(e.value)}`).join(',')}}`;
  return JSON.stringify(ast);
}

/** mulberry32: the noise is a pure function of the seed, so fast-check can replay a failure. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PADDING = ['', ' ', '\n', '\t', '\r\n', '\u00a0', '\u2003', '\u200b', '\u3000', '\ufeff', '\u202f'];

/** The same document as TradingView users mangle it. */
function noisy(ast: Ast, rnd: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;
  const pad = () => pick(PADDING) + (rnd() < 0.3 ? pick(PADDING) : '');
  const caseNoise = (text: string) =>
    [...text].map((ch) => (rnd() < 0.5 ? ch.toUpperCase() : ch.toLowerCase())).join('');
  const str = (text: string) => {
    const json = JSON.stringify(text);
    // Curly delimiters only where the content has no double quote of any kind: otherwise it is ambiguous.
    return rnd() < 0.5 && !/["“”„‟]/.test(text) ? `${pick(['“', '„'])}${json.slice(1, -1)}${pick(['”', '“'])}` : json;
  };
  const render = (node: Ast): string => {
    if (node instanceof Num) return node.text;
    if (typeof node === 'string') return str(node);
    if (Array.isArray(node)) {
      const items = node.map((item) => pad() + render(item) + pad());
      return `[${items.join(',')}${items.length > 0 && rnd() < 0.3 ? ',' : ''}${pad()}]`;
    }
    if (isObjectAst(node)) {
      const members = node.entries.map((e) => {
        let key = e.key;
        if (e.known && rnd() < 0.3) key = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
        if (e.known) key = caseNoise(key);
        const value = e.enumValue && typeof e.value === 'string' ? caseNoise(e.value) : e.value;
        return `${pad()}${str(key)}${pad()}:${pad()}${render(value)}${pad()}`;
      });
      return `{${members.join(',')}${members.length > 0 && rnd() < 0.3 ? ',' : ''}${pad()}}`;
    }
    return JSON.stringify(node);
  };
  return pad() + render(ast) + pad();
}

const digits = (min: number, max: number) =>
  fc.array(fc.constantFrom(...'0123456789'), { minLength: min, maxLength: max }).map((d) => d.join(''));

/** A canonical decimal (what the normalizer must produce) and one of the ways an alert may write it. */
const decimal = (positive: boolean) =>
  fc
    .record({ int: digits(1, 12), frac: digits(0, 18), negative: fc.boolean(), form: fc.nat(3) })
    .map(({ int, frac, negative, form }) => {
      const i = int.replace(/^0+(?=\d)/, '');
      const f = frac.replace(/0+$/, '');
      const zero = /^0*$/.test(i + f);
      const sign = !positive && negative && !zero ? '-' : '';
      const canonical = `${sign}${i}${f ? `.${f}` : ''}`;
      const mantissa = `${i}${f}`.replace(/^0+(?=\d)/, '');
      const written = [
        canonical,
        `${sign}${int}.${frac}`.replace(/\.$/, ''),
        `${sign}${mantissa}e-${f.length}`,
        `${sign}${mantissa}E${f.length === 0 ? '+0' : `-${f.length}`}`,
      ][form] as string;
      // As a JSON number only when it is one (`007` is not); quoted otherwise, as templates often do.
      const asNumber = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(written);
      return { canonical, zero, value: (asNumber && form % 2 === 0 ? new Num(written) : written) as Ast };
    })
    .filter((d) => !positive || !d.zero);

const word = (min = 1) => fc.stringMatching(new RegExp(`^[A-Za-z0-9!._:/-]{${min},12}$`));
const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: fc.constantFrom(...'aZ9 \\"“”‘’„‟\u00a0\ufeff{},:[]\n\t'), maxLength: 30 }),
);
const enumOf = (...values: string[]) => fc.constantFrom(...values);

const ACTIONS_WITH_SENTIMENT = [
  ['buy', ['long', 'bullish', 'flat']],
  ['long', ['long', 'flat']],
  ['sell', ['short', 'bearish', 'flat']],
  ['short', ['short', 'flat']],
] as const;

const field = (keys: string[], value: fc.Arbitrary<Ast>, enumValue = false) =>
  fc.option(
    fc.record({ key: fc.constantFrom(...keys), value }).map((e): Entry => ({ ...e, known: true, enumValue })),
    { nil: undefined },
  );

const bracket = (kinds: string[], extra?: string) =>
  fc
    .record({ kind: fc.constantFrom(...kinds), value: decimal(true), limit: fc.option(decimal(true)) })
    .map(({ kind, value, limit }): Ast => {
      const entries: Entry[] = [{ key: kind, value: value.value, known: true }];
      if (extra && limit) entries.push({ key: extra, value: limit.value, known: true });
      return { entries };
    });

const unknownValue: fc.Arbitrary<Ast> = fc.jsonValue({ maxDepth: 3 }).map(function toAst(v: unknown): Ast {
  if (typeof v === 'number') return new Num(JSON.stringify(v));
  if (Array.isArray(v)) return v.map(toAst);
  if (v !== null && typeof v === 'object') {
    return { entries: Object.entries(v).map(([key, value]) => ({ key, value: toAst(value) })) };
  }
  return v as Ast;
});

const signalDocument = fc
  .record({
    ticker: fc.record({ key: fc.constantFrom('ticker', 'symbol'), value: word() }),
    action: fc.oneof(
      fc
        .constantFrom(...ACTIONS_WITH_SENTIMENT)
        .chain(([action, sentiments]) =>
          fc.record({ action: fc.constant(action), sentiment: fc.option(fc.constantFrom(...sentiments)) }),
        ),
      fc.record({ action: enumOf('exit', 'cancel', 'add'), sentiment: fc.constant(null) }),
    ),
    optional: fc.tuple(
      field(
        ['quantity', 'qty', 'contracts'],
        decimal(true).map((d) => d.value),
      ),
      field(
        ['positionSize', 'position_size'],
        decimal(false).map((d) => d.value),
      ),
      field(['quantityType'], enumOf('fixed_quantity', 'dollar_amount', 'percent_of_equity'), true),
      field(['orderType'], enumOf('market', 'limit', 'stop', 'stop_limit'), true),
      field(['timeInForce'], enumOf('day', 'gtc', 'ioc'), true),
      field(
        ['limitPrice'],
        decimal(true).map((d) => d.value),
      ),
      field(
        ['stopPrice'],
        decimal(true).map((d) => d.value),
      ),
      field(
        ['price'],
        decimal(true).map((d) => d.value),
      ),
      field(['takeProfit'], bracket(['limitPrice', 'percent', 'amount'])),
      field(['stopLoss'], bracket(['stopPrice', 'percent', 'amount'], 'limitPrice')),
      field(
        ['time'],
        fc
          .date({ min: new Date('2000-01-02T00:00:00Z'), max: new Date('2099-12-30T00:00:00Z'), noInvalidDate: true })
          .chain((d) =>
            fc.constantFrom<Ast>(d.toISOString(), new Num(String(Math.floor(d.getTime() / 1000))), String(d.getTime())),
          ),
      ),
      field(['comment'], text),
      field(['idempotencyKey', 'signalId', 'eventId', 'alertId'], fc.stringMatching(/^[\x21-\x7e]{1,40}$/)),
      field(['id', 'orderName'], text),
      field(['passphrase'], text),
    ),
    unknown: fc.uniqueArray(fc.tuple(fc.string({ unit: 'grapheme', maxLength: 10 }), unknownValue), {
      maxLength: 4,
      selector: ([key]) => key.toLowerCase(),
    }),
  })
  .chain(({ ticker, action, optional, unknown }) => {
    const entries: Entry[] = [
      { key: ticker.key, value: ticker.value, known: true },
      { key: 'action', value: action.action, known: true, enumValue: true },
      ...(action.sentiment ? [{ key: 'sentiment', value: action.sentiment, known: true, enumValue: true }] : []),
      ...optional.filter((e): e is Entry => e !== undefined),
      ...unknown.map(([key, value]) => ({ key: `x${key}`, value })),
    ];
    return fc.shuffledSubarray(entries, { minLength: entries.length }).map((shuffled) => ({ entries: shuffled }));
  });

function readSignal(body: string, contentType: string) {
  const parsed = parseAlertBody(body, contentType);
  return parsed.ok ? normalizeSignal(parsed.value) : parsed;
}

describe('signal round trips', () => {
  it('normalizes a valid signal the same through every repairable disguise', () => {
    fc.assert(
      fc.property(signalDocument, fc.integer(), (doc, seed) => {
        const base = readSignal(plain(doc), 'application/json');
        expect(base).toMatchObject({ ok: true });
        const body = noisy(doc, random(seed));
        expect(readSignal(body, 'text/plain')).toEqual(base);
      }),
      { numRuns: 400 },
    );
  });

  it('keeps every decimal exact, however it is written', () => {
    fc.assert(
      fc.property(decimal(true), decimal(false), ({ canonical, value }, size) => {
        const doc: Ast = {
          entries: [
            { key: 'ticker', value: 'ES1!' },
            { key: 'action', value: 'buy' },
            { key: 'qty', value },
            { key: 'position_size', value: size.value },
          ],
        };
        expect(readSignal(plain(doc), 'text/plain')).toEqual({
          ok: true,
          signal: { ticker: 'ES1!', action: 'buy', quantity: canonical, positionSize: size.canonical },
        });
      }),
      { numRuns: 500 },
    );
  });

  it('reads plain JSON exactly as JSON.parse does, minus prototype keys', () => {
    const toPlain = (v: unknown): unknown => {
      if (v instanceof JsonNumber) return Number(v.source);
      if (Array.isArray(v)) return v.map(toPlain);
      if (v !== null && typeof v === 'object') {
        return Object.fromEntries(Object.entries(v).map(([k, value]) => [k, toPlain(value)]));
      }
      return v;
    };
    const unsafe = new Set(['__proto__', 'constructor', 'prototype']);
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const json = JSON.stringify(value);
        const parsed = parseAlertBody(json, 'application/json');
        if (!parsed.ok) throw new Error(`${parsed.message} in ${json}`);
        expect(toPlain(parsed.value)).toEqual(JSON.parse(json, (k, v) => (unsafe.has(k) ? undefined : v)));
      }),
      { numRuns: 500 },
    );
  });
});

/** The result contract: a result object every time, with a known code and a position inside the body. */
function checkResult(body: string) {
  const parsed = parseAlertBody(body, 'text/plain');
  expect(typeof parsed.ok).toBe('boolean');
  if (!parsed.ok) {
    expect(parsed.code).toBe('malformed-payload');
    expect(parsed.message.length).toBeGreaterThan(0);
    if (parsed.position) expect(parsed.position.offset).toBeLessThanOrEqual(body.length);
    return;
  }
  expect(() => extractPassphrase(parsed.value)).not.toThrow();
  const normalized = normalizeSignal(parsed.value);
  if (normalized.ok) expect(signalSchema.safeParse(normalized.signal).success).toBe(true);
  else expect(SIGNAL_REJECTION_CODES).toContain(normalized.code);
}

describe('fuzzing', () => {
  const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
  const jsonish = fc.constantFrom(...'{}[]":,.-+eE0123456789 \\u“”tfn\u00a0\ufeff'.split(''));

  it('never throws on arbitrary text, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: anyUnit }), fc.string({ unit: jsonish, maxLength: 60 })), checkResult),
      { numRuns: 2000 },
    );
  });

  it('never throws on arbitrary bytes, however they are decoded', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        checkResult(new TextDecoder().decode(bytes));
        checkResult(Buffer.from(bytes).toString('latin1'));
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on a valid signal with characters inserted, deleted or replaced', () => {
    fc.assert(
      fc.property(signalDocument, fc.nat(), fc.nat(3), fc.oneof(jsonish, anyUnit), (doc, at, span, ch) => {
        const body = plain(doc);
        const i = at % (body.length + 1);
        checkResult(body.slice(0, i) + ch + body.slice(i));
        checkResult(body.slice(0, i) + body.slice(i + span));
        checkResult(body.slice(0, i) + ch + body.slice(i + 1));
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on arbitrary values given to the normalizer', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withBigInt: true, withDate: true, withMap: true }), (v) => {
        const result = normalizeSignal(v);
        expect(typeof result.ok).toBe('boolean');
        expect(() => extractPassphrase(v)).not.toThrow();
      }),
      { numRuns: 1000 },
    );
  });
});
