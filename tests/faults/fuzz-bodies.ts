/**
 * Hostile webhook bodies for the R5 fuzz (SPEC §13): fast-check arbitraries, sampled with a fixed seed so a failure
 * reproduces, plus handcrafted extremes. JSON is assembled as text, not with JSON.stringify, so that keys such as
 * `__proto__` appear literally at every depth and numbers such as `1e400` or 1000-digit integers reach the parser
 * as written.
 */
import fc from 'fast-check';

export interface FuzzBody {
  payload: string | Buffer;
  /** undefined: no content-type header at all. */
  contentType: string | undefined;
}

export const POLLUTION_KEYS = ['__proto__', 'constructor', 'prototype'] as const;
const SIGNAL_KEYS = [
  'ticker',
  'symbol',
  'action',
  'sentiment',
  'quantity',
  'qty',
  'contracts',
  'quantityType',
  'orderType',
  'limitPrice',
  'stopPrice',
  'timeInForce',
  'takeProfit',
  'stopLoss',
  'price',
  'time',
  'comment',
  'positionSize',
  'idempotencyKey',
  'signalId',
  'eventId',
  'alertId',
  'orderName',
  'id',
  'passphrase',
  'position_size',
];
const CONTENT_TYPES = [
  'application/json',
  'text/plain',
  'text/plain; charset=utf-8',
  'application/json; charset=latin1',
  'text/plain; charset=utf-16le',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'text/html',
  '',
  'garbage',
  'application/json;;;',
  '*/*',
  undefined,
];
const WEIRD_NUMBERS = [
  '1e400',
  '-1e400',
  '1e-400',
  `${'9'.repeat(1000)}`,
  `-${'1'.repeat(1000)}`,
  `0.${'0'.repeat(999)}1`,
  '-0',
  '0x10',
  'NaN',
  'Infinity',
  '-Infinity',
  '1_000',
  '01',
  '.5',
  '5.',
  '1e',
  '+1',
  '9007199254740993',
  '1E+308',
  '2e308',
];

const scalarText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...WEIRD_NUMBERS),
  fc.double().map((d) => (Number.isFinite(d) ? String(d) : 'null')),
  fc.integer().map(String),
  fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => JSON.stringify(s)),
  fc
    .constantFrom('buy', 'sell', 'exit', 'cancel', 'add', 'long', 'short', 'flat', 'MNQ1!', 'market', 'limit')
    .map((s) => JSON.stringify(s)),
  fc.constantFrom('true', 'false', 'null', '""', '"\\u0000"', '"\\ud800"', '"\\uDFFF\\uD800"', '"\u2028"'),
);

const keyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...POLLUTION_KEYS) },
  { weight: 3, arbitrary: fc.constantFrom(...SIGNAL_KEYS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);

/** JSON text trees whose keys mix signal fields with prototype-pollution keys at every depth. */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarText,
    fc.array(tie('value'), { maxLength: 5 }).map((items) => `[${items.join(',')}]`),
    fc
      .array(fc.tuple(keyText, tie('value')), { maxLength: 6 })
      .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  ),
})).value;

/** Signal-shaped objects: every known field optional, each with a hostile value. */
const signalText: fc.Arbitrary<string> = fc
  .array(fc.tuple(fc.constantFrom(...SIGNAL_KEYS, ...POLLUTION_KEYS), fc.oneof(scalarText, jsonText)), {
    minLength: 1,
    maxLength: 10,
  })
  .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`);

/** Bytes that are not UTF-8 (overlongs, lone continuations, surrogates, past U+10FFFF) spliced into JSON text. */
const invalidUtf8: fc.Arbitrary<Buffer> = fc
  .array(
    fc.oneof(
      fc.constantFrom([0xc0, 0x80], [0xff], [0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xfe]),
      fc
        .constantFrom('{"ticker":"', '","action":"buy"', '}', '"', ':', ',', '\u00a0', '\ufeff')
        .map((s) => [...Buffer.from(s)]),
    ),
    { minLength: 1, maxLength: 30 },
  )
  .map((parts) => Buffer.from(parts.flat()));

const nesting: fc.Arbitrary<string> = fc
  .tuple(
    fc.integer({ min: 50, max: 20_000 }),
    fc.constantFrom('[', '{"a":', '{"__proto__":', '{"ticker":'),
    fc.boolean(),
  )
  .map(([depth, open, closed]) => {
    const close = open === '[' ? ']' : '}';
    return open.repeat(depth) + (closed ? `1${close.repeat(depth)}` : '');
  });

/** Valid alerts with one thing broken or stretched: these reach the deepest steps (dedup, the log row). */
const nearValid: fc.Arbitrary<string> = fc
  .record({
    ticker: fc.oneof(fc.constant('MNQ1!'), fc.string({ maxLength: 30 })),
    action: fc.oneof(fc.constantFrom('buy', 'sell', 'exit', 'Long', 'SHORT'), fc.string({ maxLength: 8 })),
    quantity: fc.oneof(fc.constantFrom(...WEIRD_NUMBERS), fc.integer({ min: -5, max: 100 }).map(String)),
    extra: fc.oneof(
      fc.constant(''),
      signalText.map((s) => `,"extra":${s}`),
    ),
    trailing: fc.constantFrom('', ',', ' ,\u00a0', '\n'),
  })
  .map(
    (r) =>
      `{"ticker":${JSON.stringify(r.ticker)},"action":${JSON.stringify(r.action)},"quantity":${r.quantity}${r.extra}${r.trailing}}`,
  );

const textBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: jsonText },
  { weight: 4, arbitrary: signalText },
  { weight: 3, arbitrary: nearValid },
  { weight: 1, arbitrary: nesting },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('buy @ 10 filled on MNQ1!. New strategy position is 10', 'sell @ -1 filled on'),
  },
);

export const fuzzBody: fc.Arbitrary<FuzzBody> = fc.record({
  payload: fc.oneof(
    { weight: 12, arbitrary: textBody },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2_000 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 1, arbitrary: invalidUtf8 },
  ),
  contentType: fc.constantFrom(...CONTENT_TYPES),
});

const LIMIT = 64 * 1024;
/** Bodies around the 64 KiB limit (counted in bytes: multibyte characters straddle it) and far past it. */
function giantBodies(): FuzzBody[] {
  const wrap = (filler: string) => `{"ticker":"MNQ1!","action":"buy","comment":"${filler}"}`;
  const overhead = Buffer.byteLength(wrap(''));
  const sizes = [LIMIT - overhead - 1, LIMIT - overhead, LIMIT - overhead + 1, LIMIT * 2, LIMIT * 16];
  const bodies: FuzzBody[] = sizes.map((n) => ({ payload: wrap('x'.repeat(n)), contentType: 'application/json' }));
  // Three bytes per character: under the limit in characters, over it in bytes.
  bodies.push({ payload: wrap('€'.repeat(Math.floor(LIMIT / 3))), contentType: 'text/plain' });
  bodies.push({ payload: wrap('€'.repeat(Math.floor((LIMIT - overhead) / 3))), contentType: 'text/plain' });
  bodies.push({ payload: `"${'a'.repeat(LIMIT - 2)}"`, contentType: 'application/json' });
  bodies.push({ payload: '['.repeat(LIMIT), contentType: 'application/json' });
  bodies.push({ payload: Buffer.alloc(LIMIT + 1, 0xff), contentType: 'application/octet-stream' });
  return bodies;
}

/** Handcrafted extremes that random sampling would rarely hit. */
export function handcraftedBodies(): FuzzBody[] {
  const json = (payload: string): FuzzBody => ({ payload, contentType: 'application/json' });
  const pollution = POLLUTION_KEYS.flatMap((key) => [
    json(`{"${key}":{"polluted":true},"ticker":"MNQ1!","action":"buy","quantity":1}`),
    json(`{"ticker":"MNQ1!","action":"buy","takeProfit":{"${key}":{"polluted":true}}}`),
    json(`[{"${key}":{"polluted":true}}]`),
    json(`{"a":{"b":{"c":{"${key}":{"prototype":{"polluted":true}}}}}}`),
  ]);
  return [
    ...pollution,
    json('{"constructor":{"prototype":{"polluted":true}},"ticker":"MNQ1!","action":"buy"}'),
    json(`{"ticker":"MNQ1!","action":"buy","quantity":1e400}`),
    json(`{"ticker":"MNQ1!","action":"buy","quantity":${'9'.repeat(1000)}}`),
    json(`{"ticker":"MNQ1!","action":"buy","quantity":"${'9'.repeat(1000)}"}`),
    json(`{"ticker":"MNQ1!","action":"buy","positionSize":-1e400,"price":1e-400}`),
    json(`${'['.repeat(100_000)}${']'.repeat(100_000)}`.slice(0, LIMIT)),
    json(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`),
    json(''),
    json('\ufeff'),
    json('null'),
    json('{}'),
    json('[]'),
    json('"buy"'),
    json('\u0000'),
    { payload: Buffer.from([0xef, 0xbb, 0xbf, 0xc0, 0xaf]), contentType: 'text/plain' },
    { payload: '{"ticker":"MNQ1!","action":"buy"}', contentType: undefined },
    ...giantBodies(),
  ];
}
