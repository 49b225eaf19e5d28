/**
 * Every sample alert of ../shared/fixtures/tradingview-alerts.jsonl, sent in file order to a real route, gets its
 * expected outcome: the answer (status and code), the webhook log row (status, error code, stored signal) and the
 * signal job in BullMQ (only for an accepted alert). Plus the other shapes SPEC §4 step 2 accepts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookLogStatus } from '../../shared/enums.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { signUp } from '../helpers/client.ts';
import { createWebhookStrategy, postAlert, readAlertFixtures, signalJob, webhookLog } from '../helpers/webhooks.ts';

let server: TestApp;
let token: string;
let strategyId: number;
beforeAll(async () => {
  server = await startTestApp();
  const trader = await signUp(server.url);
  // The fixtures carry 2025 timestamps: the staleness check is off for them (it is tested on its own).
  ({ id: strategyId, token } = await createWebhookStrategy(trader.client, { maxSignalAgeS: null }));
});
afterAll(() => server.close());

const db = () => server.deps.database.db;

interface Expected {
  status: number;
  code?: string;
  log: WebhookLogStatus;
  signal?: Record<string, unknown>;
  message?: RegExp;
}

/** What each fixture's `expect` says, as assertions. A fixture missing here fails the suite. */
const EXPECTED: Record<string, Expected> = {
  'tp-strategy-entry': {
    status: 202,
    log: 'received',
    signal: { ticker: 'AAPL', action: 'buy', sentiment: 'long', quantity: '10', price: '189.43' },
  },
  'tp-reversal': {
    status: 202,
    log: 'received',
    signal: { ticker: 'MNQ1!', action: 'sell', sentiment: 'short', quantity: '10' },
  },
  'tp-flat-exit': { status: 202, log: 'received', signal: { ticker: 'SPY', action: 'sell', sentiment: 'flat' } },
  'oa-smart-order': {
    status: 202,
    log: 'received',
    signal: { ticker: 'NIFTY30JAN25FUT', action: 'sell', quantity: '65', positionSize: '-65' },
  },
  'pc-text': { status: 400, code: 'malformed-payload', log: 'rejected', message: /PineConnector/ },
  'bad-empty-number': { status: 400, code: 'malformed-payload', log: 'rejected', message: /line 1, column \d+/ },
  'missing-ticker': { status: 400, code: 'missing-ticker', log: 'rejected' },
  'empty-alert-message': { status: 400, code: 'malformed-payload', log: 'rejected', message: /empty/ },
  'duplicate-delivery': { status: 200, log: 'duplicate' },
};

describe('the shared TradingView fixtures', () => {
  const fixtures = readAlertFixtures();
  const answers = new Map<string, Record<string, unknown>>();

  it('has an expectation for every fixture', () => {
    expect(fixtures.map((fixture) => fixture.id).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(fixtures.map((fixture) => [fixture.id, fixture] as const))('%s', async (id, fixture) => {
    const expected = EXPECTED[id];
    if (!expected) throw new Error(`no expectation for fixture ${id}`);
    const answer = await postAlert(server.url, token, fixture.body, fixture.content_type);
    answers.set(id, answer.body);
    expect(answer.status, JSON.stringify(answer.body)).toBe(expected.status);

    const row = await webhookLog(db(), answer.body.id);
    expect(row.strategyId).toBe(strategyId);
    expect(row.status).toBe(expected.log);
    expect(row.source).toBe('tradingview');
    expect(row.rawBody).toBe(fixture.body);
    expect(row.contentType).toBe(fixture.content_type);
    expect(row.sourceIp).toBe('127.0.0.1');
    expect(row.requestId).toBe(answer.headers.get('x-request-id'));
    expect(row.processingMs).toEqual(expect.any(Number));

    if (expected.status === 202) {
      expect(answer.body).toEqual({ ok: true, id: row.id, status: 'accepted' });
      expect(row.payload).toMatchObject(expected.signal ?? {});
      expect(row.errorCode).toBeNull();
      const job = await signalJob(server.queues, row.id);
      expect(job?.data).toEqual({ webhookLogId: row.id });
    } else if (expected.status === 200) {
      const first = answers.get('tp-strategy-entry');
      expect(answer.body).toEqual({ ok: true, id: row.id, status: 'duplicate', duplicateOf: first?.id });
      expect(row.duplicateOf).toBe(first?.id);
      expect(row.dedupKey).toBeNull();
      expect(await signalJob(server.queues, row.id)).toBeUndefined();
    } else {
      expect(answer.body).toMatchObject({ ok: false, code: expected.code, id: row.id, requestId: expect.any(String) });
      if (expected.message) expect(answer.body.message).toMatch(expected.message);
      expect(row.errorCode).toBe(expected.code);
      expect(row.errorMessage).toBe(answer.body.message);
      expect(await signalJob(server.queues, row.id)).toBeUndefined();
    }
  });
});

describe('other bodies TradingView sends', () => {
  it("accepts TradingView's default strategy message as text/plain", async () => {
    const body = 'buy @ 10 filled on MNQ1!. New strategy position is 10';
    const answer = await postAlert(server.url, token, body, 'text/plain; charset=utf-8');
    expect(answer.status).toBe(202);
    const row = await webhookLog(db(), answer.body.id);
    expect(row.payload).toEqual({ ticker: 'MNQ1!', action: 'buy', quantity: '10', positionSize: '10' });
    expect(await signalJob(server.queues, row.id)).toBeDefined();
  });

  it('reads JSON sent as text/plain, or with no content type, and repairs unambiguous damage', async () => {
    const curly = '\ufeff{“ticker”: “ES1!”, “action”: “BUY”, “quantity”: “2”,}';
    const repaired = await postAlert(server.url, token, curly, 'text/plain');
    expect(repaired.status, JSON.stringify(repaired.body)).toBe(202);
    expect((await webhookLog(db(), repaired.body.id)).payload).toEqual({
      ticker: 'ES1!',
      action: 'buy',
      quantity: '2',
    });

    const bare = await postAlert(server.url, token, '{"ticker":"NQ1!","action":"exit"}', null);
    expect(bare.status, JSON.stringify(bare.body)).toBe(202);
  });

  it('reads the body as text whatever the content type says, empty bodies included', async () => {
    const empty = await postAlert(server.url, token, '', 'application/json');
    expect(empty.status).toBe(400);
    expect(empty.body).toMatchObject({ ok: false, code: 'malformed-payload', id: expect.any(Number) });
    const form = await postAlert(
      server.url,
      token,
      '{"ticker":"CL1!","action":"buy"}',
      'application/x-www-form-urlencoded',
    );
    expect(form.status).toBe(202);
    const odd = await postAlert(server.url, token, '{"ticker":"GC1!","action":"sell"}', 'image/png');
    expect(odd.status).toBe(202);
  });

  it('never deduplicates on `id` ({{strategy.order.id}}): two different alerts of order "Long" both run', async () => {
    const alert = (price: string) => JSON.stringify({ ticker: 'AAPL', action: 'buy', id: 'Long', price });
    const first = await postAlert(server.url, token, alert('190.1'));
    const second = await postAlert(server.url, token, alert('190.2'));
    expect([first.status, second.status]).toEqual([202, 202]);
    expect((await webhookLog(db(), second.body.id)).payload).toMatchObject({ orderName: 'Long' });
  });

  it('answers 400 with the code of the first problem and logs it, for each normalizer code', async () => {
    const cases: Array<[string, string]> = [
      ['{"ticker":"AAPL","action":"hold"}', 'invalid-action'],
      ['{"ticker":"AAPL","action":"buy","sentiment":"sideways"}', 'invalid-sentiment'],
      ['{"ticker":"AAPL","action":"buy","quantity":"-3"}', 'invalid-quantity'],
      ['{"ticker":"AAPL","action":"buy","orderType":"iceberg"}', 'invalid-payload'],
      ['[1,2]', 'malformed-payload'],
    ];
    for (const [body, code] of cases) {
      const answer = await postAlert(server.url, token, body);
      expect(answer.status, body).toBe(400);
      expect(answer.body).toMatchObject({ ok: false, code });
      const row = await webhookLog(db(), answer.body.id);
      expect([row.status, row.errorCode]).toEqual(['rejected', code]);
    }
  });
});
