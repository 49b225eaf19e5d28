/**
 * SPEC §13 R5: 10,000 fuzzed webhook bodies and fuzzed tRPC inputs against the real app through Fastify `inject`
 * (the whole pipeline, no sockets): zero 5xx, every answer JSON with a kebab-case code (or the success shape), the
 * process alive and Object.prototype unpolluted afterwards. Bodies come from fast-check with a fixed seed
 * (tests/faults/fuzz-bodies.ts), so a failure names a reproducible body.
 *
 * Every body from a valid token writes a webhook_logs row, and a strategy takes at most 600 alerts a minute (the
 * schema's maximum), so the bodies are spread over STRATEGIES strategies: the fuzz reaches the parser, not the limiter.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signalJobId } from '../../shared/jobs.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type SignedInUser, signUp } from '../helpers/client.ts';
import { createWebhookStrategy, WEBHOOK_PATH } from '../helpers/webhooks.ts';
import { type FuzzBody, fuzzBody, handcraftedBodies } from './fuzz-bodies.ts';

const SEED = 0x5eed_0005;
const FUZZ_RUNS = 10_000;
const STRATEGIES = 20;
const CONCURRENCY = 16;
const KEBAB = /^[a-z]+(-[a-z0-9]+)*$/;
const HIGH = { points: 1_000_000, durationS: 60 };

let app: TestApp;
let trader: SignedInUser;
let tokens: string[];
const prototypeBefore = {
  object: Object.getOwnPropertyNames(Object.prototype).sort(),
  array: Object.getOwnPropertyNames(Array.prototype).sort(),
};

beforeAll(async () => {
  // No per-user budget in the way of the tRPC fuzz: every call must reach input parsing and the service.
  app = await startTestApp({ rateLimits: { read: HIGH, write: HIGH, broker: HIGH, globalPerIp: HIGH } });
  trader = await signUp(app.url);
  tokens = [];
  for (let i = 0; i < STRATEGIES; i++) {
    const { token } = await createWebhookStrategy(trader.client, { ratePerMinute: 600, ratePerHour: 10_000 });
    tokens.push(token);
  }
}, 60_000);

afterAll(async () => {
  await app.close();
});

/** Runs `task` over `items` with at most CONCURRENCY in flight. */
async function pooled<T>(items: T[], task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
}

function describeBody(body: FuzzBody): string {
  const text = typeof body.payload === 'string' ? body.payload : `<bytes ${body.payload.toString('hex')}>`;
  return `content-type ${String(body.contentType)}, ${text.length} chars: ${text.slice(0, 200)}`;
}

/** What every answer of the webhook route must look like; a description of what is wrong, or undefined. */
function webhookAnswerProblem(status: number, text: string): string | undefined {
  if (status >= 500) return `status ${status}`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `status ${status} with a non-JSON body`;
  }
  if (typeof body !== 'object' || body === null) return `status ${status} body is not an object`;
  const answer = body as Record<string, unknown>;
  if (answer.ok === true) {
    if (status === 202 && answer.status === 'accepted' && typeof answer.id === 'number') return undefined;
    if (status === 200 && answer.status === 'duplicate' && typeof answer.duplicateOf === 'number') return undefined;
    return `unexpected success ${status} ${text}`;
  }
  if (answer.ok !== false || status < 400) return `status ${status} without ok:false: ${text}`;
  if (typeof answer.code !== 'string' || !KEBAB.test(answer.code)) return `code not kebab-case: ${text}`;
  if (typeof answer.message !== 'string') return `no message: ${text}`;
  return undefined;
}

describe('R5: fuzzed webhook bodies', () => {
  it('answers 10,000 fuzzed bodies and the handcrafted extremes without a 5xx, each with a code', async () => {
    const bodies = [...handcraftedBodies(), ...fc.sample(fuzzBody, { seed: SEED, numRuns: FUZZ_RUNS })];
    const problems: string[] = [];
    const statuses = new Map<number, number>();
    let accepted: number | undefined;
    await pooled(bodies, async (body, index) => {
      const response = await app.app.inject({
        method: 'POST',
        url: `${WEBHOOK_PATH}${tokens[index % STRATEGIES]}`,
        headers: body.contentType === undefined ? {} : { 'content-type': body.contentType },
        payload: body.payload,
      });
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
      const problem = webhookAnswerProblem(response.statusCode, response.body);
      if (problem && problems.length < 20) problems.push(`#${index} ${problem} — for ${describeBody(body)}`);
      if (response.statusCode === 202) accepted = response.json<{ id: number }>().id;
    });
    expect(problems).toEqual([]);
    // The fuzz must exercise both sides: refusals of every kind and alerts that went all the way to the queue.
    expect(statuses.get(400)).toBeGreaterThan(1_000);
    expect(statuses.get(413)).toBeGreaterThan(0);
    expect(accepted).toBeDefined();
    expect(await app.queues.signals.getJob(signalJobId(accepted as number))).toBeDefined();
    expect([...statuses.keys()].every((status) => status < 500)).toBe(true);
  }, 60_000);

  it('leaves Object.prototype and Array.prototype untouched and the app serving', async () => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore.object);
    expect(Object.getOwnPropertyNames(Array.prototype).sort()).toEqual(prototypeBefore.array);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const response = await app.app.inject({
      method: 'POST',
      url: `${WEBHOOK_PATH}${tokens[0]}`,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ ticker: 'MNQ1!', action: 'buy', quantity: 1, idempotencyKey: 'r5-after' }),
    });
    expect(response.statusCode).toBe(202);
    expect((await app.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
  });
});

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ maxDepth: 3, withBigInt: false, withNullPrototype: true, withObjectString: true }),
  fc.constantFrom(1e308, -0, Number.MAX_SAFE_INTEGER + 2, '1e400', '9'.repeat(1000), '<script>', "' OR 1=1 --"),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
);

/**
 * Objects with the procedure's own keys, each absent, valid or (one in 13) hostile (so some inputs pass validation and
 * reach the service), plus prototype-pollution keys; and now and then a bare hostile value.
 */
function inputsFor(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [key, plausible] of Object.entries(fields)) {
    record[key] = fc.oneof({ weight: 12, arbitrary: plausible }, { weight: 1, arbitrary: hostile });
  }
  const shaped = fc
    .tuple(
      fc.record(record, { requiredKeys: [] }),
      fc.option(fc.constantFrom('__proto__', 'constructor', 'prototype'), { freq: 1 }),
    )
    .map(([input, key]) => (key === null ? input : { ...input, ...JSON.parse(`{"${key}":{"polluted":true}}`) }));
  return fc.oneof({ weight: 4, arbitrary: shaped }, { weight: 1, arbitrary: hostile });
}

const smallId = fc.integer({ min: 1, max: 40 });
const PROCEDURES: Record<string, Record<string, fc.Arbitrary<unknown>>> = {
  'strategies.create': {
    name: fc.oneof(fc.string({ minLength: 1, maxLength: 80 }), fc.constant('<img src=x onerror=alert(1)>')),
    description: fc.string({ maxLength: 600 }),
    ratePerMinute: fc.integer({ min: 1, max: 600 }),
    ratePerHour: fc.integer({ min: 600, max: 10_000 }),
    allowedIps: fc.constantFrom(null, ['tradingview'], ['10.0.0.0/8', '::1']),
    executionMode: fc.constantFrom('auto', 'manual'),
    maxSignalAgeS: fc.constantFrom(null, 5, 86_400),
    sizingValue: fc.constantFrom('1', '0.001', '12.5'),
    allowShort: fc.boolean(),
  },
  // Credentials stay hostile: valid ones would call a broker, whose absence is a legitimate 503.
  'brokers.connect': {
    broker: fc.constantFrom('alpaca', 'tradovate', 'ibkr', 'ALPACA', 'nope'),
    name: fc.string({ maxLength: 80 }),
    environment: fc.constantFrom('paper', 'live', 'demo'),
    credentials: hostile,
  },
  'routing.create': {
    strategyId: smallId,
    brokerConnectionId: smallId,
    quantityMultiplier: fc.constantFrom('1', '0.5', '2'),
    symbolMap: fc.oneof(fc.constant(null), fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }))),
    priority: fc.integer({ min: -1000, max: 1000 }),
    isActive: fc.boolean(),
  },
};

describe('R5: fuzzed tRPC inputs', () => {
  it('answers 500+ random inputs to strategies.create, brokers.connect and routing.create without a 5xx', async () => {
    const calls = Object.entries(PROCEDURES).flatMap(([path, fields], p) =>
      fc.sample(inputsFor(fields), { seed: SEED + p, numRuns: 180 }).map((input, i) => {
        // Mostly superjson's envelope as the client sends it; some raw JSON and broken text as well.
        const payload = i % 10 === 9 ? '{"json":' : i % 5 === 4 ? safeStringify(input) : safeStringify({ json: input });
        return { path, payload };
      }),
    );
    const problems: string[] = [];
    const reachedService = new Set<string>();
    await pooled(calls, async ({ path, payload }, index) => {
      const response = await app.app.inject({
        method: 'POST',
        url: `/api/v1/trpc/${path}`,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${trader.accessToken}` },
        payload,
      });
      // 200 or the service's NOT_FOUND: the input got past validation into the verb.
      if (response.statusCode === 200 || response.statusCode === 404) reachedService.add(path);
      // Every refusal carries its stable app code (superjson envelope: error.json.data.appCode).
      let coded = response.statusCode === 200;
      try {
        const body = JSON.parse(response.body) as { error?: { json?: { data?: { appCode?: unknown } } } };
        const appCode = body.error?.json?.data?.appCode;
        coded ||= typeof appCode === 'string' && KEBAB.test(appCode);
      } catch {
        coded = false;
      }
      if ((response.statusCode >= 500 || !coded) && problems.length < 20) {
        problems.push(
          `#${index} ${path} → ${response.statusCode} ${response.body.slice(0, 300)} for ${payload.slice(0, 300)}`,
        );
      }
    });
    expect(problems).toEqual([]);
    expect([...reachedService].sort()).toEqual(['routing.create', 'strategies.create']);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore.object);
  }, 30_000);
});

/** JSON.stringify that keeps going on values it cannot encode (fast-check may build them), as a sender's bug would. */
function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'undefined';
  } catch {
    return String(value);
  }
}
