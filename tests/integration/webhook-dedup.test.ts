/**
 * Deduplication (SPEC §4 step 5) over real HTTP, with the app's ingestion clock in the test's hands so windows are
 * crossed without sleeping: an explicit idempotency key forever, an identical body within DEDUP_WINDOW_S (across
 * a bucket boundary too), concurrent identical deliveries accepted exactly once. Also the ingestAlert entry the
 * tRPC simulate and replay procedures use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logger } from '../../server/lib/logger.ts';
import { ingestAlert, webhookIngestDeps } from '../../server/services/webhooks/ingest.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type SignedInUser, signUp } from '../helpers/client.ts';
import { createWebhookStrategy, postAlert, signalJob, webhookLog } from '../helpers/webhooks.ts';

const WINDOW_S = 10;
const WINDOW_MS = WINDOW_S * 1000;
let clock = 0;
/** Puts the clock `offsetMs` into a window-long bucket well away from the present. */
const bucketStart = (bucket: number) => bucket * WINDOW_MS;
let bucket = Math.floor(Date.now() / WINDOW_MS);

let server: TestApp;
let trader: SignedInUser;
beforeAll(async () => {
  server = await startTestApp({ ingest: { dedupWindowS: WINDOW_S, now: () => clock } });
  trader = await signUp(server.url);
});
afterAll(() => server.close());

const db = () => server.deps.database.db;
/** Each test gets fresh buckets, so bodies of one test never meet another's. */
function freshBuckets(): void {
  bucket += 10;
  clock = bucketStart(bucket) + 1_000;
}

describe('an explicit idempotency key', () => {
  it('is a duplicate forever, whatever the body, and answers 200 with the original id and no job', async () => {
    freshBuckets();
    const { id: strategyId, token } = await createWebhookStrategy(trader.client);
    const first = await postAlert(server.url, token, JSON.stringify({ ticker: 'ES1!', action: 'buy', signalId: 'k1' }));
    expect(first.status).toBe(202);
    expect((await webhookLog(db(), first.body.id)).dedupKey).toMatch(/^key:[0-9a-f]{64}$/);

    clock += 30 * 24 * 3_600_000; // a month later, with another body and another alias of the key
    const again = await postAlert(
      server.url,
      token,
      JSON.stringify({ ticker: 'ES1!', action: 'sell', idempotencyKey: 'k1', time: new Date(clock).toISOString() }),
    );
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ok: true, id: expect.any(Number), status: 'duplicate', duplicateOf: first.body.id });
    const row = await webhookLog(db(), again.body.id);
    expect(row).toMatchObject({ strategyId, status: 'duplicate', duplicateOf: first.body.id, dedupKey: null });
    expect(await signalJob(server.queues, row.id)).toBeUndefined();

    // Another key, or the same key on another strategy, is new.
    expect(
      (await postAlert(server.url, token, JSON.stringify({ ticker: 'ES1!', action: 'buy', eventId: 'k2' }))).status,
    ).toBe(202);
    const other = await createWebhookStrategy(trader.client);
    expect(
      (await postAlert(server.url, other.token, JSON.stringify({ ticker: 'ES1!', action: 'buy', alertId: 'k1' })))
        .status,
    ).toBe(202);
  });

  it('is not used up by a rejected alert: the same key is accepted once the strategy runs again', async () => {
    freshBuckets();
    const { id, token } = await createWebhookStrategy(trader.client);
    const body = JSON.stringify({ ticker: 'ES1!', action: 'buy', signalId: 'while-paused' });
    await trader.client.strategies.pause.mutate({ id });
    expect((await postAlert(server.url, token, body)).status).toBe(409);
    await trader.client.strategies.resume.mutate({ id });
    expect((await postAlert(server.url, token, body)).status).toBe(202);
    expect((await postAlert(server.url, token, body)).status).toBe(200);
  });
});

describe('an identical body', () => {
  const body = JSON.stringify({ ticker: 'AAPL', action: 'buy', id: 'Long', quantity: '1' });

  it('is a duplicate within the window and new after it', async () => {
    freshBuckets();
    const { token } = await createWebhookStrategy(trader.client);
    const first = await postAlert(server.url, token, body);
    expect(first.status).toBe(202);
    clock += WINDOW_MS - 1_001; // still in the first alert's bucket, just under the window
    const repeat = await postAlert(server.url, token, body);
    expect(repeat.body).toMatchObject({ status: 'duplicate', duplicateOf: first.body.id });

    clock = bucketStart(bucket) + 1_000 + WINDOW_MS; // exactly the window after the first alert
    const later = await postAlert(server.url, token, body);
    expect(later.status).toBe(202);
    expect(later.body.id).not.toBe(first.body.id);

    // Only bytes count: the same alert with other whitespace is another body.
    expect((await postAlert(server.url, token, body.replace('{', '{ '))).status).toBe(202);
  });

  it('is caught across a bucket boundary, but not from further back than the window', async () => {
    freshBuckets();
    const { token } = await createWebhookStrategy(trader.client);
    clock = bucketStart(bucket + 1) - 200;
    const first = await postAlert(server.url, token, body);
    clock = bucketStart(bucket + 1) + 200; // next bucket, 400 ms later
    const straddling = await postAlert(server.url, token, body);
    expect([first.status, straddling.status]).toEqual([202, 200]);
    expect(straddling.body.duplicateOf).toBe(first.body.id);

    freshBuckets();
    clock = bucketStart(bucket) + 100;
    const early = await postAlert(server.url, token, body);
    clock = bucketStart(bucket + 2) - 100; // the previous bucket holds it, but 2 windows minus 200 ms ago
    const late = await postAlert(server.url, token, body);
    expect([early.status, late.status]).toEqual([202, 202]);
  });

  it('delivered 20 times at once is accepted exactly once, with one job', async () => {
    freshBuckets();
    const { token } = await createWebhookStrategy(trader.client);
    const concurrent = JSON.stringify({ ticker: 'MNQ1!', action: 'sell', quantity: '2', burst: true });
    const answers = await Promise.all(Array.from({ length: 20 }, () => postAlert(server.url, token, concurrent)));
    const accepted = answers.filter((answer) => answer.status === 202);
    expect(accepted).toHaveLength(1);
    const original = accepted[0]?.body.id;
    for (const answer of answers.filter((a) => a.status !== 202)) {
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ ok: true, status: 'duplicate', duplicateOf: original });
      expect(await signalJob(server.queues, answer.body.id)).toBeUndefined();
    }
    expect(await signalJob(server.queues, original)).toBeDefined();
  });
});

describe('ingestAlert for a signed-in owner (simulation and replay)', () => {
  const deps = () => webhookIngestDeps(server.deps, logger);
  const input = (strategyId: number, userId: number, source: 'simulation' | 'replay', rawBody: string) => ({
    lookup: { kind: 'owner' as const, strategyId, userId },
    rawBody,
    contentType: 'application/json',
    sourceIp: '203.0.113.9',
    source,
    requestId: `test-${source}`,
  });

  it('runs the pipeline without the webhook-only checks, scoped to the owner', async () => {
    freshBuckets();
    const { id } = await createWebhookStrategy(trader.client, {
      allowedIps: ['tradingview'],
      passphrase: 'only tradingview knows',
      ratePerMinute: 1,
      ratePerHour: 1,
    });
    const body = JSON.stringify({ ticker: 'SPY', action: 'exit' });
    const simulated = await ingestAlert(deps(), input(id, trader.id, 'simulation', body));
    expect(simulated).toEqual({ httpStatus: 202, body: { ok: true, id: expect.any(Number), status: 'accepted' } });
    const row = await webhookLog(db(), simulated.body.ok ? simulated.body.id : 0);
    expect([row.source, row.sourceIp, row.status]).toEqual(['simulation', '203.0.113.9', 'received']);
    expect(await signalJob(server.queues, row.id)).toBeDefined();

    // The same body again is a duplicate for a simulation, but a replay runs it again.
    expect((await ingestAlert(deps(), input(id, trader.id, 'simulation', body))).httpStatus).toBe(200);
    const replayed = await ingestAlert(deps(), input(id, trader.id, 'replay', body));
    expect(replayed.httpStatus).toBe(202);

    const stranger = await signUp(server.url);
    const foreign = await ingestAlert(deps(), input(id, stranger.id, 'simulation', body));
    expect(foreign).toEqual({ httpStatus: 404, body: { ok: false, code: 'not-found', message: expect.any(String) } });
  });
});
