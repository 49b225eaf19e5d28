/**
 * Alert body → JSON value (SPEC §4 step 2): the shared TradingView fixtures, each repair, TradingView's default
 * strategy message, and every kind of malformed body with the position it reports.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { JsonNumber, MAX_JSON_DEPTH, normalizeSignal, parseAlertBody } from '../../server/services/signals/parse.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// The CI checkout has the shared material beside the project.
const fixturePath = resolve(root, '../shared/fixtures/tradingview-alerts.jsonl');

interface Fixture {
  id: string;
  content_type: string;
  body: string;
  expect: string;
}

function loadFixtures(): Fixture[] {
  if (!existsSync(fixturePath)) return [];
  return readFileSync(fixturePath, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Fixture);
}

const fixtures = loadFixtures();
const fixture = (id: string) => fixtures.find((f) => f.id === id) as Fixture;

function run(body: string, contentType: string | undefined = 'text/plain') {
  const parsed = parseAlertBody(body, contentType);
  if (!parsed.ok) throw new Error(`expected ${JSON.stringify(body)} to parse: ${parsed.message}`);
  return { parsed, normalized: normalizeSignal(parsed.value) };
}

function signalOf(body: string, contentType?: string) {
  const { normalized } = run(body, contentType);
  if (!normalized.ok) throw new Error(`expected a signal: ${normalized.code} ${normalized.message}`);
  return normalized.signal;
}

/** What the parser and normalizer decide for each fixture; route-level outcomes are asserted as their input. */
const EXPECTATIONS: Record<string, (f: Fixture) => void> = {
  'tp-strategy-entry': (f) => {
    const signal = signalOf(f.body, f.content_type);
    expect(signal).toEqual({
      ticker: 'AAPL',
      action: 'buy',
      sentiment: 'long',
      quantity: '10',
      price: '189.43',
      time: '2025-01-15T14:30:05.000Z',
    });
  },
  'tp-reversal': (f) => {
    expect(signalOf(f.body, f.content_type)).toEqual({
      ticker: 'MNQ1!',
      action: 'sell',
      sentiment: 'short',
      quantity: '10',
      price: '21034.25',
      time: '2025-01-15T15:02:00.000Z',
    });
  },
  'tp-flat-exit': (f) => {
    expect(signalOf(f.body, f.content_type)).toEqual({
      ticker: 'SPY',
      action: 'sell',
      sentiment: 'flat',
      quantity: '5',
      price: '592.1',
    });
  },
  'oa-smart-order': (f) => {
    // Upper-case action, `symbol` and `position_size` aliases; apikey/product/pricetype are unknown and ignored.
    expect(signalOf(f.body, f.content_type)).toEqual({
      ticker: 'NIFTY30JAN25FUT',
      action: 'sell',
      quantity: '65',
      positionSize: '-65',
    });
  },
  'pc-text': (f) => {
    const parsed = parseAlertBody(f.body, f.content_type);
    expect(parsed).toMatchObject({
      ok: false,
      code: 'malformed-payload',
      position: { offset: 11, line: 1, column: 12 },
    });
    expect(parsed.ok || parsed.message).toMatch(/PineConnector.*JSON/);
  },
  'bad-empty-number': (f) => {
    const parsed = parseAlertBody(f.body, f.content_type);
    // `"quantity":,` — the comma where the value should be is column 44.
    expect(parsed).toMatchObject({
      ok: false,
      code: 'malformed-payload',
      position: { offset: 43, line: 1, column: 44 },
    });
    expect(parsed.ok || parsed.message).toContain('line 1, column 44');
    expect(f.body[43]).toBe(',');
  },
  'missing-ticker': (f) => {
    const { parsed, normalized } = run(f.body, f.content_type);
    expect(parsed.repaired).toEqual([]);
    expect(normalized).toMatchObject({ ok: false, code: 'missing-ticker', field: 'ticker' });
    // `long` and `qty` were understood: the ticker is the only problem.
    expect(normalizeSignal({ ...(parsed.value as object), ticker: 'ES1!' })).toEqual({
      ok: true,
      signal: { ticker: 'ES1!', action: 'buy', quantity: '1' },
    });
  },
  'empty-alert-message': (f) => {
    const parsed = parseAlertBody(f.body, f.content_type);
    expect(parsed).toMatchObject({ ok: false, code: 'malformed-payload' });
    expect(parsed.ok || parsed.message).toMatch(/empty/);
  },
  'duplicate-delivery': (f) => {
    // Byte-identical to tp-strategy-entry and without an explicit key: the route's body-hash window catches it.
    const first = fixture('tp-strategy-entry');
    expect(f.body).toBe(first.body);
    const signal = signalOf(f.body, f.content_type);
    expect(signal).toEqual(signalOf(first.body, first.content_type));
    expect(signal.idempotencyKey).toBeUndefined();
  },
};

describe('TradingView fixtures', () => {
  it('finds the shared fixture file', () => {
    expect(
      existsSync(fixturePath),
      `fixture file missing: ${fixturePath} (the shared/ checkout must sit beside the project)`,
    ).toBe(true);
    expect(fixtures.length).toBeGreaterThan(0);
  });

  it('has an expectation for every fixture', () => {
    expect(fixtures.map((f) => f.id).filter((id) => !(id in EXPECTATIONS))).toEqual([]);
  });

  it.each(fixtures.map((f) => [f.id, f] as const))('%s', (_id, f) => {
    (EXPECTATIONS[f.id] as (f: Fixture) => void)(f);
  });

  it('reads `id` ({{strategy.order.id}}) as the order name, never as an idempotency key', () => {
    const body = fixture('tp-strategy-entry').body.replace('{', '{"id":"Long",');
    const signal = signalOf(body);
    expect(signal.orderName).toBe('Long');
    expect(signal.idempotencyKey).toBeUndefined();
    expect(signalOf(body.replace('"Long"', '"Exit Long"')).idempotencyKey).toBeUndefined();
    // An explicit key is kept beside it.
    expect(signalOf(body.replace('{', '{"alertId":"a-1",'))).toMatchObject({
      orderName: 'Long',
      idempotencyKey: 'a-1',
    });
  });

  it('answers the same whatever the content type says', () => {
    for (const f of fixtures) {
      const answers = ['application/json', 'text/plain; charset=utf-8', undefined, 'application/octet-stream'].map(
        (type) => {
          const parsed = parseAlertBody(f.body, type);
          return parsed.ok ? normalizeSignal(parsed.value) : { code: parsed.code, position: parsed.position };
        },
      );
      expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    }
  });
});

const SIGNAL = { ticker: 'AAPL', action: 'buy', quantity: '10' };

describe('repairs', () => {
  it.each([
    ['plain JSON with newlines', '{\n  "ticker": "AAPL",\r\n\t"action": "buy", "quantity": 10\n}\n', []],
    ['a BOM', '\ufeff{"ticker":"AAPL","action":"buy","quantity":10}', ['bom']],
    ['NBSP padding', '\u00a0{"ticker":"AAPL",\u00a0"action":"buy","quantity":10}\u00a0\u00a0', ['unicode-space']],
    ['other Unicode spaces', '\u2003{"ticker":"AAPL"\u200b,"action":"buy","quantity":10}\u3000', ['unicode-space']],
    ['curly quotes', '{“ticker”: “AAPL”, “action”: “buy”, “quantity”: 10}', ['curly-quotes']],
    ['German quotes', '{„ticker“: „AAPL“, "action": "buy", "quantity": "10"}', ['curly-quotes']],
    ['curly open, straight close', '{“ticker": “AAPL", "action": "buy", "quantity": 10}', ['curly-quotes']],
    ['a trailing comma in an object', '{"ticker":"AAPL","action":"buy","quantity":10,}', ['trailing-comma']],
    ['a trailing comma in an array', '{"ticker":"AAPL","action":"buy","quantity":10,"x":[1,2, ]}', ['trailing-comma']],
    [
      'everything at once',
      '\ufeff\u00a0{“ticker”:“AAPL”,“action”:“buy”,“quantity”:10,“x”:[1,],}\u00a0',
      ['bom', 'unicode-space', 'curly-quotes', 'trailing-comma'],
    ],
  ])('repairs %s', (_name, body, repaired) => {
    const { parsed, normalized } = run(body);
    expect(parsed.repaired).toEqual(repaired);
    expect(normalized).toEqual({ ok: true, signal: SIGNAL });
  });

  it('keeps curly quotes and apostrophes inside a straight-quoted string as they are', () => {
    const { parsed, normalized } = run('{"ticker":"AAPL","action":"buy","comment":"it’s a “test” ‚ok‘"}');
    expect(parsed.repaired).toEqual([]);
    expect(normalized).toMatchObject({ signal: { comment: 'it’s a “test” ‚ok‘' } });
  });

  it('keeps escaped quotes inside a curly-quoted string', () => {
    const { parsed } = run('{“comment”: “say \\"hi\\" \\u00e9”}');
    expect(parsed.value).toEqual({ comment: 'say "hi" é' });
  });

  it('drops keys that could reach a prototype and builds null-prototype objects', () => {
    const { parsed, normalized } = run(
      '{"ticker":"AAPL","action":"buy","__proto__":{"polluted":1},"nested":{"constructor":{"prototype":{"polluted":2}},"prototype":3}}',
    );
    expect(parsed.repaired).toEqual(['unsafe-key']);
    expect(Object.getPrototypeOf(parsed.value)).toBeNull();
    const nested = (parsed.value as Record<string, unknown>).nested as object;
    expect(Object.getPrototypeOf(nested)).toBeNull();
    expect(Object.keys(nested)).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(normalized).toEqual({ ok: true, signal: { ticker: 'AAPL', action: 'buy' } });
  });

  it('keeps numbers as their exact source text', () => {
    const { parsed } = run('{"a":12345678901234567890123,"b":0.1,"c":1e400,"d":-0,"e":1194.6000000000001,"f":[2E-7]}');
    const value = parsed.value as Record<string, unknown>;
    expect(value.a).toBeInstanceOf(JsonNumber);
    expect(
      Object.values(value)
        .flat()
        .map((n) => (n as JsonNumber).source),
    ).toEqual(['12345678901234567890123', '0.1', '1e400', '-0', '1194.6000000000001', '2E-7']);
    expect(JSON.stringify(value.a)).toBe('"12345678901234567890123"');
  });

  it('accepts nesting up to the depth limit', () => {
    const deep = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;
    expect(parseAlertBody(deep, 'text/plain').ok).toBe(true);
  });
});

describe("TradingView's default strategy message", () => {
  it.each([
    ['buy @ 10 filled on MNQ1!. New strategy position is 10', { action: 'buy', quantity: '10', positionSize: '10' }],
    [
      'sell @ 1 filled on ES1!. New strategy position is -1',
      { action: 'sell', quantity: '1', positionSize: '-1', ticker: 'ES1!' },
    ],
    [
      'sell @ 5 filled on ES1!. New strategy position is 0',
      { action: 'sell', quantity: '5', positionSize: '0', ticker: 'ES1!' },
    ],
    [
      'buy @ 0.015 filled on BTCUSDT.P. New strategy position is 0.005',
      { action: 'buy', quantity: '0.015', positionSize: '0.005', ticker: 'BTCUSDT.P' },
    ],
    ['BUY @ 2 filled on BRK.B. New strategy position is 2.', { action: 'buy', ticker: 'BRK.B', quantity: '2' }],
    ['\ufeff buy  @ 3 filled on MNQ1!.  New strategy position is 3\n', { action: 'buy', quantity: '3' }],
  ])('reads %j', (body, expected) => {
    const { parsed, normalized } = run(body);
    expect(parsed.repaired).toEqual(['default-strategy-message']);
    expect(normalized).toMatchObject({ ok: true, signal: { ticker: 'MNQ1!', ...expected } });
  });

  it('keeps its numbers exact', () => {
    const { parsed } = run('buy @ 10 filled on MNQ1!. New strategy position is 10');
    expect((parsed.value as Record<string, JsonNumber>).quantity).toEqual(new JsonNumber('10'));
  });

  it.each([
    'buy @ 10 filled on MNQ1!',
    'buy @ -10 filled on MNQ1!. New strategy position is 10',
    'hold @ 10 filled on MNQ1!. New strategy position is 10',
    'buy @ 10 filled on MNQ1!. New strategy position is ten',
    'buy @ 10 filled on MNQ1 ES1!. New strategy position is 10',
  ])('refuses the near miss %j', (body) => {
    expect(parseAlertBody(body, 'text/plain')).toMatchObject({ ok: false, code: 'malformed-payload' });
  });
});

describe('malformed bodies', () => {
  it.each([
    ['an empty body', '', undefined, /empty/],
    ['only whitespace', '  \n\u00a0\ufeff ', undefined, /empty/],
    ['NaN', '{"price":NaN}', [1, 10], /unexpected 'N'/],
    ['an unquoted key', '{ticker:"AAPL"}', [1, 2], /quoted" key/],
    ['single quotes', "{'ticker':'AAPL'}", [1, 2], /single quotes/],
    ['curly single quotes', '{‘ticker’:‘AAPL’}', [1, 2], /single quotes/],
    ['a missing comma', '{"a":1 "b":2}', [1, 8], /expected ',' or '}'/],
    ['a missing colon', '{"a" 1}', [1, 6], /':' after the key "a"/],
    ['two commas', '[1,,2]', [1, 4], /expected a value/],
    ['a comma alone', '{,}', [1, 2], /quoted" key/],
    ['a leading zero', '{"a":01}', [1, 7], /invalid number/],
    ['a bare minus', '{"a":-}', [1, 6], /expected a digit/],
    ['a dangling decimal point', '{"a":1.}', [1, 7], /invalid number/],
    ['text after the value', '{"a":1} trailing', [1, 9], /after the JSON value/],
    ['two objects', '{"a":1}{"a":2}', [1, 8], /after the JSON value/],
    ['an unterminated string', '{"a":"abc', [1, 6], /unterminated string/],
    ['an unclosed object', '{"a":1', [1, 7], /unexpected end of the body/],
    ['a raw newline in a string', '{"a":"x\ny"}', [1, 8], /control character U\+000A/],
    ['a bad escape', '{"a":"\\x"}', [1, 7], /escape/],
    ['a short unicode escape', '{"a":"\\u12"}', [1, 7], /escape/],
    ['a duplicate key', '{"ticker":"A","action":"buy","ticker":"B"}', [1, 30], /duplicate key "ticker"/],
    ['a problem on line 3', '{\n  "ticker": "A",\n  "qty": ,\n}', [3, 10], /unexpected ','/],
    ['prose', 'please buy AAPL', [1, 1], /default strategy message/],
    ['a PineConnector command with spaces', '60123456789 , buy , EURUSD , risk=1', [1, 13], /PineConnector/],
    ['nesting too deep', `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`, [1, 33], /nesting/],
    ['absurd nesting', '['.repeat(100_000), [1, 33], /nesting deeper than 32/],
  ])('refuses %s', (_name, body, position, message) => {
    const parsed = parseAlertBody(body, 'text/plain');
    expect(parsed).toMatchObject({ ok: false, code: 'malformed-payload' });
    if (parsed.ok) return;
    expect(parsed.message).toMatch(message);
    if (position === undefined) {
      expect(parsed.position).toBeUndefined();
    } else {
      expect(parsed.position).toMatchObject({ line: position[0], column: position[1] });
      expect(parsed.message).toContain(`line ${position[0]}, column ${position[1]}`);
    }
  });

  it('names the content type in the message', () => {
    expect(parseAlertBody('{', 'Text/Plain; charset=UTF-8')).toMatchObject({
      message: expect.stringContaining('(text/plain)'),
    });
  });

  it('reports the offset within the raw text, BOM included', () => {
    expect(parseAlertBody('\ufeff{x}', undefined)).toMatchObject({ position: { offset: 2, line: 1, column: 3 } });
  });
});
