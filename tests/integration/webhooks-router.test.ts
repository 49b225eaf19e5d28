import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLogs } from '../../drizzle/schema/audit_logs.ts';
import { strategies } from '../../drizzle/schema/strategies.ts';
import { webhookLogs } from '../../drizzle/schema/webhook_logs.ts';
import { randomToken } from '../../server/lib/crypto.ts';
import type { WebhookLogStatus, WebhookSource } from '../../shared/enums.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type SignedInUser, signUp, trpcFailure } from '../helpers/client.ts';
import { insertStrategy as insertStrategyRow } from '../helpers/fixtures.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import { signalJob, webhookLog } from '../helpers/webhooks.ts';

let server: TestApp;
beforeAll(async () => {
  server = await startTestApp();
});
afterAll(() => server.close());

const db = () => server.deps.database.db;

const insertStrategy = (userId: number, name?: string) => insertStrategyRow(db(), userId, name);

interface LogRow {
  status?: WebhookLogStatus;
  source?: WebhookSource;
  at?: Date;
  rawBody?: string;
  payload?: Record<string, unknown> | null;
  errorCode?: string;
  duplicateOf?: number;
}

/** A log row as ingestion would have written it, inserted directly (these tests are about reading logs). */
async function insertLog(strategyId: number, row: LogRow = {}) {
  const at = row.at ?? new Date();
  const payload = row.payload === undefined ? { ticker: 'MNQ1!', action: 'buy', quantity: '1' } : row.payload;
  const [inserted] = await db()
    .insert(webhookLogs)
    .values({
      strategyId,
      source: row.source ?? 'tradingview',
      receivedAt: at,
      createdAt: at,
      rawBody: row.rawBody ?? JSON.stringify(payload ?? {}),
      contentType: 'application/json',
      sourceIp: '52.89.214.238',
      payload,
      status: row.status ?? 'executed',
      errorCode: row.errorCode ?? null,
      errorMessage: row.errorCode ? `because ${row.errorCode}` : null,
      duplicateOf: row.duplicateOf ?? null,
      requestId: `req-${randomToken(4)}`,
      processingMs: 7,
    })
    .$returningId();
  if (!inserted) throw new Error('log insert returned no id');
  return inserted.id;
}

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);

describe('webhooks.getLogs', () => {
  let alice: SignedInUser;
  let bob: SignedInUser;
  const ids = { aliceA: 0, aliceB: 0, bob: 0 };
  const logs: Record<string, number> = {};

  beforeAll(async () => {
    [alice, bob] = await Promise.all([signUp(server.url, 'Alice'), signUp(server.url, 'Bob')]);
    ids.aliceA = await insertStrategy(alice.id, 'Alice A');
    ids.aliceB = await insertStrategy(alice.id, 'Alice B');
    ids.bob = await insertStrategy(bob.id, 'Bob');
    logs.old = await insertLog(ids.aliceA, { at: minutesAgo(60), status: 'executed' });
    logs.rejected = await insertLog(ids.aliceA, {
      at: minutesAgo(30),
      status: 'rejected',
      errorCode: 'malformed-payload',
      payload: null,
      rawBody: '{oops',
    });
    logs.otherStrategy = await insertLog(ids.aliceB, {
      at: minutesAgo(20),
      status: 'failed',
      payload: { ticker: 'ES1!', action: 'sell' },
    });
    logs.duplicate = await insertLog(ids.aliceA, { at: minutesAgo(10), status: 'duplicate', duplicateOf: logs.old });
    logs.bob = await insertLog(ids.bob, { at: minutesAgo(5) });
    logs.deleted = await insertLog(ids.aliceA, { at: minutesAgo(1) });
    await db().update(webhookLogs).set({ deletedAt: new Date() }).where(eq(webhookLogs.id, logs.deleted));
  });

  it("lists only the caller's live logs, newest first, with the strategy name and the signal's ticker", async () => {
    const page = await alice.client.webhooks.getLogs.query();
    expect(page.items.map((log) => log.id)).toEqual([logs.duplicate, logs.otherStrategy, logs.rejected, logs.old]);
    expect(page.nextCursor).toBeNull();
    expect(page.items[1]).toEqual({
      id: logs.otherStrategy,
      strategyId: ids.aliceB,
      strategyName: 'Alice B',
      source: 'tradingview',
      status: 'failed',
      errorCode: null,
      errorMessage: null,
      receivedAt: expect.any(Date),
      processingMs: 7,
      duplicateOf: null,
      ticker: 'ES1!',
      action: 'sell',
    });
    expect(page.items[0]).toMatchObject({ status: 'duplicate', duplicateOf: logs.old });
    expect(page.items[2]).toMatchObject({ errorCode: 'malformed-payload', ticker: null, action: null });
    expect((await bob.client.webhooks.getLogs.query()).items.map((log) => log.id)).toEqual([logs.bob]);
  });

  it('filters by strategy, status and date range, and pages with the cursor', async () => {
    const q = alice.client.webhooks.getLogs.query;
    expect((await q({ strategyId: ids.aliceB })).items.map((l) => l.id)).toEqual([logs.otherStrategy]);
    expect((await q({ status: 'rejected' })).items.map((l) => l.id)).toEqual([logs.rejected]);
    expect((await q({ strategyId: ids.aliceA, status: 'failed' })).items).toEqual([]);
    const range = await q({ from: minutesAgo(45), to: minutesAgo(15) });
    expect(range.items.map((l) => l.id)).toEqual([logs.otherStrategy, logs.rejected]);
    expect((await q({ from: minutesAgo(15) })).items.map((l) => l.id)).toEqual([logs.duplicate]);
    // Another user's strategy id filters to nothing rather than revealing anything.
    expect((await q({ strategyId: ids.bob })).items).toEqual([]);

    const first = await q({ limit: 3 });
    expect(first.items.map((l) => l.id)).toEqual([logs.duplicate, logs.otherStrategy, logs.rejected]);
    expect(first.nextCursor).toBe(logs.rejected);
    const second = await q({ limit: 3, cursor: first.nextCursor ?? undefined });
    expect(second).toEqual({ items: [expect.objectContaining({ id: logs.old })], nextCursor: null });
  });

  it('refuses a range that ends before it starts, and limits above 100', async () => {
    const q = alice.client.webhooks.getLogs.query;
    for (const input of [
      { from: minutesAgo(5), to: minutesAgo(10) },
      { from: minutesAgo(5), to: minutesAgo(5) },
      { limit: 101 },
    ]) {
      const failure = await trpcFailure(() => q(input));
      expect(failure.data?.code).toBe('BAD_REQUEST');
    }
    const inverted = await trpcFailure(() => q({ from: minutesAgo(5), to: minutesAgo(10) }));
    expect(inverted.data?.zodError?.fieldErrors).toHaveProperty('to');
  });
});

describe('webhooks.getLog', () => {
  it('shows the whole log with its secrets masked, and its history', async () => {
    const user = await signUp(server.url);
    const strategyId = await insertStrategy(user.id, 'Detailed');
    const passphrase = `pp-${randomToken(8)}`;
    rememberSecret(passphrase);
    const rawBody = `{"ticker":"MNQ1!","action":"buy","Pass_Phrase" : "${passphrase}","apikey":"k-${passphrase}"}`;
    const original = await insertLog(strategyId, { at: minutesAgo(3), status: 'executed', rawBody });
    const duplicate = await insertLog(strategyId, { status: 'duplicate', duplicateOf: original, rawBody });

    const log = await user.client.webhooks.getLog.query({ id: original });
    expect(log.rawBody).toBe('{"ticker":"MNQ1!","action":"buy","Pass_Phrase" : "[redacted]","apikey":"[redacted]"}');
    expect(JSON.stringify(log)).not.toContain(passphrase);
    expect(log).toMatchObject({
      id: original,
      strategyId,
      strategyName: 'Detailed',
      source: 'tradingview',
      status: 'executed',
      contentType: 'application/json',
      sourceIp: '52.89.214.238',
      payload: { ticker: 'MNQ1!', action: 'buy', quantity: '1' },
      requestId: expect.stringMatching(/^req-/),
      replayOf: null,
    });
    expect(log.history.map(({ event, status }) => [event, status])).toEqual([
      ['received', 'received'],
      ['status', 'executed'],
    ]);
    expect(Object.keys(log)).not.toContain('dedupKey');

    const dup = await user.client.webhooks.getLog.query({ id: duplicate });
    expect(dup.history.at(-1)).toMatchObject({ event: 'status', status: 'duplicate', logId: original });
  });

  it("answers NOT_FOUND for another user's log, a deleted log and a deleted strategy's log", async () => {
    const [owner, intruder] = await Promise.all([signUp(server.url), signUp(server.url)]);
    const strategyId = await insertStrategy(owner.id);
    const id = await insertLog(strategyId);
    const missing = await trpcFailure(() => intruder.client.webhooks.getLog.query({ id: 999_999_999 }));
    const foreign = await trpcFailure(() => intruder.client.webhooks.getLog.query({ id }));
    expect(foreign.data?.code).toBe('NOT_FOUND');
    expect(foreign.message).toBe(missing.message);
    expect((await owner.client.webhooks.getLog.query({ id })).id).toBe(id);

    await db().update(strategies).set({ deletedAt: new Date() }).where(eq(strategies.id, strategyId));
    expect((await trpcFailure(() => owner.client.webhooks.getLog.query({ id }))).data?.code).toBe('NOT_FOUND');
    await db()
      .update(strategies)
      .set({ deletedAt: null })
      .where(and(eq(strategies.id, strategyId)));
    await db().update(webhookLogs).set({ deletedAt: new Date() }).where(eq(webhookLogs.id, id));
    expect((await trpcFailure(() => owner.client.webhooks.getLog.query({ id }))).data?.code).toBe('NOT_FOUND');
  });
});

describe('webhooks.simulateSignal', () => {
  let user: SignedInUser;
  let strategyId: number;
  beforeAll(async () => {
    user = await signUp(server.url);
    strategyId = await insertStrategy(user.id, 'Simulated');
  });

  it('accepts a signal like the webhook route, logs it as a simulation and enqueues its job', async () => {
    const payload = { ticker: 'MNQ1!', action: 'long', qty: '2', idempotencyKey: `sim-${randomToken(4)}` };
    const answer = await user.client.webhooks.simulateSignal.mutate({ strategyId, payload });
    expect(answer).toEqual({ ok: true, id: expect.any(Number), status: 'accepted' });
    const row = await webhookLog(db(), answer.id);
    expect(row).toMatchObject({
      strategyId,
      source: 'simulation',
      status: 'received',
      rawBody: JSON.stringify(payload),
      contentType: 'application/json',
      payload: { ticker: 'MNQ1!', action: 'buy', quantity: '2', idempotencyKey: payload.idempotencyKey },
    });
    expect(await signalJob(server.queues, answer.id)).toBeDefined();

    const again = await user.client.webhooks.simulateSignal.mutate({ strategyId, payload });
    expect(again).toEqual({ ok: true, id: expect.any(Number), status: 'duplicate', duplicateOf: answer.id });
    expect(await webhookLog(db(), again.id)).toMatchObject({ source: 'simulation', status: 'duplicate' });
  });

  it('answers refusals with the log they wrote, and never stores a passphrase', async () => {
    const malformed = await user.client.webhooks.simulateSignal.mutate({ strategyId, payload: '{"ticker": oops' });
    expect(malformed).toMatchObject({ ok: false, status: 'rejected', code: 'malformed-payload' });
    expect(await webhookLog(db(), malformed.id)).toMatchObject({
      source: 'simulation',
      status: 'rejected',
      errorCode: 'malformed-payload',
      rawBody: '{"ticker": oops',
      contentType: 'text/plain; charset=utf-8',
    });

    const passphrase = `pp-${randomToken(8)}`;
    rememberSecret(passphrase);
    const noTicker = await user.client.webhooks.simulateSignal.mutate({
      strategyId,
      payload: { action: 'buy', passphrase },
    });
    expect(noTicker).toMatchObject({ ok: false, status: 'rejected', code: 'missing-ticker' });
    const shown = await user.client.webhooks.getLog.query({ id: noTicker.id });
    expect(shown.rawBody).toBe('{"action":"buy","passphrase":"[redacted]"}');
    expect(JSON.stringify(await webhookLog(db(), noTicker.id))).not.toContain(passphrase);
  });

  it('refuses bodies over 64 KiB and strategies that are not the caller’s', async () => {
    const big = await trpcFailure(() =>
      user.client.webhooks.simulateSignal.mutate({ strategyId, payload: { comment: 'é'.repeat(33_000) } }),
    );
    expect(big.data?.code).toBe('BAD_REQUEST');
    const other = await signUp(server.url);
    const foreign = await trpcFailure(() =>
      other.client.webhooks.simulateSignal.mutate({ strategyId, payload: { ticker: 'ES1!', action: 'buy' } }),
    );
    expect(foreign.data?.code).toBe('NOT_FOUND');
  });
});

describe('webhooks.replay', () => {
  const auditsOf = (id: number) =>
    db()
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.resourceType, 'webhook_log'), eq(auditLogs.resourceId, String(id))));

  it('replays a failed log as a new log despite its idempotency key, audited, leaving the original as it was', async () => {
    const user = await signUp(server.url);
    const strategyId = await insertStrategy(user.id);
    const payload = { ticker: 'ES1!', action: 'sell', idempotencyKey: `replay-${randomToken(4)}` };
    const first = await user.client.webhooks.simulateSignal.mutate({ strategyId, payload });
    await db()
      .update(webhookLogs)
      .set({ status: 'failed', errorCode: 'broker-unavailable' })
      .where(eq(webhookLogs.id, first.id));
    const before = await webhookLog(db(), first.id);

    const replay = await user.client.webhooks.replay.mutate({ id: first.id });
    expect(replay).toEqual({ ok: true, id: expect.any(Number), status: 'accepted', replayOf: first.id });
    expect(await webhookLog(db(), replay.id)).toMatchObject({
      strategyId,
      source: 'replay',
      status: 'received',
      rawBody: before.rawBody,
      payload: before.payload,
    });
    expect(await signalJob(server.queues, replay.id)).toBeDefined();
    expect(await webhookLog(db(), first.id)).toEqual(before);
    const [audit, ...more] = await auditsOf(first.id);
    expect(more).toEqual([]);
    expect(audit).toMatchObject({
      action: 'webhook_log.replay',
      userId: user.id,
      oldValue: { status: 'failed' },
      newValue: { replayLogId: replay.id, status: 'accepted', errorCode: null },
    });

    const original = await user.client.webhooks.getLog.query({ id: first.id });
    expect(original.history.at(-1)).toMatchObject({ event: 'replayed', logId: replay.id });
    const copy = await user.client.webhooks.getLog.query({ id: replay.id });
    expect(copy).toMatchObject({ source: 'replay', replayOf: first.id });
    expect(copy.history.map((entry) => entry.event)).toEqual(['received', 'replay-of']);

    // Not twice while the replay is pending (a double click must not trade twice); again once it failed too.
    const twice = await trpcFailure(() => user.client.webhooks.replay.mutate({ id: first.id }));
    expect(twice.data?.code).toBe('PRECONDITION_FAILED');
    expect(twice.message).toContain(`already replayed as log ${replay.id}`);
    await db().update(webhookLogs).set({ status: 'failed' }).where(eq(webhookLogs.id, replay.id));
    expect((await user.client.webhooks.replay.mutate({ id: first.id })).status).toBe('accepted');
  });

  it('replays only failed or rejected logs; a rejected replay is logged and audited too', async () => {
    const user = await signUp(server.url);
    const strategyId = await insertStrategy(user.id);
    for (const status of ['received', 'executing', 'executed', 'duplicate', 'staged', 'ignored'] as const) {
      const id = await insertLog(strategyId, { status });
      const refused = await trpcFailure(() => user.client.webhooks.replay.mutate({ id }));
      expect([refused.data?.code, refused.message]).toEqual([
        'PRECONDITION_FAILED',
        `Only failed or rejected logs can be replayed; this log is ${status}`,
      ]);
    }
    // Anyone with the URL can send an alert; one that failed the passphrase check must not get in by a replay.
    const unauthenticated = await insertLog(strategyId, { status: 'rejected', errorCode: 'invalid-passphrase' });
    const refused = await trpcFailure(() => user.client.webhooks.replay.mutate({ id: unauthenticated }));
    expect([refused.data?.code, refused.message]).toEqual([
      'PRECONDITION_FAILED',
      expect.stringContaining('passphrase'),
    ]);

    const rejected = await insertLog(strategyId, { status: 'rejected', errorCode: 'strategy-paused' });
    await user.client.strategies.pause.mutate({ id: strategyId });
    const replay = await user.client.webhooks.replay.mutate({ id: rejected });
    expect(replay).toMatchObject({ ok: false, status: 'rejected', code: 'strategy-paused', replayOf: rejected });
    expect(await webhookLog(db(), replay.id)).toMatchObject({ source: 'replay', status: 'rejected' });
    expect((await auditsOf(rejected))[0]?.newValue).toMatchObject({
      replayLogId: replay.id,
      errorCode: 'strategy-paused',
    });
  });

  it('leaves nothing behind when the audit row cannot be written', async () => {
    const user = await signUp(server.url);
    const strategyId = await insertStrategy(user.id);
    const failed = await insertLog(strategyId, { status: 'failed' });
    await server.deps.database.pool.query(
      `CREATE TRIGGER audit_refused BEFORE INSERT ON audit_logs FOR EACH ROW
         SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit store unavailable'`,
    );
    try {
      const failure = await trpcFailure(() => user.client.webhooks.replay.mutate({ id: failed }));
      expect(failure.data?.code).toBe('INTERNAL_SERVER_ERROR');
    } finally {
      await server.deps.database.pool.query('DROP TRIGGER IF EXISTS audit_refused');
    }
    const logs = await db()
      .select({ id: webhookLogs.id })
      .from(webhookLogs)
      .where(eq(webhookLogs.strategyId, strategyId));
    expect(logs).toEqual([{ id: failed }]);
  });
});
