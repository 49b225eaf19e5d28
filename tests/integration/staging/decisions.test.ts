/**
 * webhooks.getStaged / approveStaged / rejectStaged over HTTP, on staged signals written as the engine writes them.
 * No signals worker runs here, so an approval's signal job stays in Redis to be looked at. Each decision is made
 * once, audited with the log's move in the same transaction; a second decision, or one after expiry, is a
 * precondition failure; another user's id is NOT_FOUND and changes nothing.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stagingTrades } from '../../../drizzle/schema/staging_trades.ts';
import { approvedSignalJobId } from '../../../shared/jobs.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { type SignedInUser, signUp, trpcFailure } from '../../helpers/client.ts';
import { insertStrategy } from '../../helpers/fixtures.ts';
import { insertStaged, logRow, stagingAudits, stagingRow } from './fixtures.ts';

let server: TestApp;
let alice: SignedInUser;
let bob: SignedInUser;
let aliceStrategy: number;
beforeAll(async () => {
  server = await startTestApp();
  [alice, bob] = await Promise.all([signUp(server.url), signUp(server.url)]);
  aliceStrategy = await insertStrategy(db(), alice.id);
});
afterAll(() => server.close());

const db = () => server.deps.database.db;
const MISSING = 999_999_999;

describe('approveStaged', () => {
  it('approves once: staging approved, the log back to received, audited, the signal job added under a new id', async () => {
    const staged = await insertStaged(db(), aliceStrategy);
    const approved = await alice.client.webhooks.approveStaged.mutate({ id: staged.id });
    expect(approved).toMatchObject({
      id: staged.id,
      strategyId: aliceStrategy,
      webhookLogId: staged.webhookLogId,
      symbol: 'AAPL',
      action: 'buy',
      quantity: '2.00000000',
      status: 'approved',
      decidedBy: alice.id,
      decidedAt: expect.any(Date),
      decisionReason: null,
    });
    expect(await stagingRow(db(), staged.id)).toMatchObject({ status: 'approved', decidedBy: alice.id });
    expect(await logRow(db(), staged.webhookLogId)).toMatchObject({ status: 'received', errorCode: null });
    const audits = await stagingAudits(db(), staged.id);
    expect(audits).toEqual([
      expect.objectContaining({
        action: 'staging_trade.approve',
        actorType: 'user',
        userId: alice.id,
        oldValue: { status: 'pending' },
        newValue: { status: 'approved', webhookLogId: staged.webhookLogId },
      }),
    ]);
    const job = await server.queues.signals.getJob(approvedSignalJobId(staged.webhookLogId));
    expect(job?.data).toEqual({ webhookLogId: staged.webhookLogId });

    for (const again of [
      () => alice.client.webhooks.approveStaged.mutate({ id: staged.id }),
      () => alice.client.webhooks.rejectStaged.mutate({ id: staged.id }),
    ]) {
      const failure = await trpcFailure(again);
      expect([failure.data?.code, failure.data?.appCode]).toEqual(['PRECONDITION_FAILED', 'precondition-failed']);
      expect(failure.message).toBe('This staged signal was already approved');
    }
    expect(await stagingAudits(db(), staged.id)).toHaveLength(1);
  });

  it('lets exactly one of two simultaneous decisions win', async () => {
    const staged = await insertStaged(db(), aliceStrategy);
    const results = await Promise.allSettled([
      alice.client.webhooks.approveStaged.mutate({ id: staged.id }),
      alice.client.webhooks.rejectStaged.mutate({ id: staged.id }),
      alice.client.webhooks.approveStaged.mutate({ id: staged.id }),
    ]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const row = await stagingRow(db(), staged.id);
    expect(['approved', 'rejected']).toContain(row?.status);
    expect((await logRow(db(), staged.webhookLogId))?.status).toBe(
      row?.status === 'approved' ? 'received' : 'rejected',
    );
    expect(await stagingAudits(db(), staged.id)).toHaveLength(1);
  });

  it('still approves when the signal job cannot be added (the expire-staged job adds it later)', async () => {
    const staged = await insertStaged(db(), aliceStrategy);
    const enqueue = server.deps.enqueueApprovedSignal;
    server.deps.enqueueApprovedSignal = () => Promise.reject(new Error('Connection is closed.'));
    try {
      const approved = await alice.client.webhooks.approveStaged.mutate({ id: staged.id });
      expect(approved.status).toBe('approved');
    } finally {
      server.deps.enqueueApprovedSignal = enqueue;
    }
    expect((await logRow(db(), staged.webhookLogId))?.status).toBe('received');
    expect(await server.queues.signals.getJob(approvedSignalJobId(staged.webhookLogId))).toBeUndefined();
  });
});

describe('rejectStaged', () => {
  it('rejects once with the reason as plain text: the log ends rejected (staging-rejected), no job added', async () => {
    const staged = await insertStaged(db(), aliceStrategy);
    const rejected = await alice.client.webhooks.rejectStaged.mutate({
      id: staged.id,
      reason: '  <b>Too late</b> in the session<script>alert(1)</script> ',
    });
    expect(rejected).toMatchObject({
      id: staged.id,
      status: 'rejected',
      decidedBy: alice.id,
      decidedAt: expect.any(Date),
      decisionReason: 'Too late in the session',
    });
    expect(await stagingRow(db(), staged.id)).toMatchObject({
      status: 'rejected',
      decidedBy: alice.id,
      decisionReason: 'Too late in the session',
    });
    expect(await logRow(db(), staged.webhookLogId)).toMatchObject({
      status: 'rejected',
      errorCode: 'staging-rejected',
      errorMessage: 'Rejected in review: Too late in the session',
    });
    expect((await stagingAudits(db(), staged.id)).map((audit) => [audit.action, audit.newValue])).toEqual([
      [
        'staging_trade.reject',
        { status: 'rejected', webhookLogId: staged.webhookLogId, reason: 'Too late in the session' },
      ],
    ]);
    expect(await server.queues.signals.getJob(approvedSignalJobId(staged.webhookLogId))).toBeUndefined();

    for (const again of [
      () => alice.client.webhooks.rejectStaged.mutate({ id: staged.id }),
      () => alice.client.webhooks.approveStaged.mutate({ id: staged.id }),
    ]) {
      const failure = await trpcFailure(again);
      expect([failure.data?.code, failure.message]).toEqual([
        'PRECONDITION_FAILED',
        'This staged signal was already rejected',
      ]);
    }
  });

  it('rejects without a reason, and refuses a reason over 500 characters', async () => {
    const staged = await insertStaged(db(), aliceStrategy);
    const tooLong = await trpcFailure(() =>
      alice.client.webhooks.rejectStaged.mutate({ id: staged.id, reason: 'x'.repeat(501) }),
    );
    expect(tooLong.data?.code).toBe('BAD_REQUEST');
    expect((await stagingRow(db(), staged.id))?.status).toBe('pending');
    const rejected = await alice.client.webhooks.rejectStaged.mutate({ id: staged.id });
    expect(rejected).toMatchObject({ status: 'rejected', decisionReason: null });
    expect(await logRow(db(), staged.webhookLogId)).toMatchObject({
      status: 'rejected',
      errorCode: 'staging-rejected',
      errorMessage: 'Rejected in review; no order was placed',
    });
  });
});

describe('after expiry', () => {
  it('refuses to approve or reject a staged signal past its expires_at, even before the expiry job ran', async () => {
    const expiresAt = new Date(Date.now() - 1_000);
    const staged = await insertStaged(db(), aliceStrategy, { expiresAt });
    for (const decide of [
      () => alice.client.webhooks.approveStaged.mutate({ id: staged.id }),
      () => alice.client.webhooks.rejectStaged.mutate({ id: staged.id, reason: 'no' }),
    ]) {
      const failure = await trpcFailure(decide);
      expect(failure.data?.code).toBe('PRECONDITION_FAILED');
      expect(failure.message).toBe(
        `This staged signal expired at ${expiresAt.toISOString()} without a decision; it can no longer be approved or rejected`,
      );
    }
    expect(await stagingRow(db(), staged.id)).toMatchObject({ status: 'pending', decidedBy: null });
    expect((await logRow(db(), staged.webhookLogId))?.status).toBe('staged');
    expect(await stagingAudits(db(), staged.id)).toEqual([]);
  });

  it('refuses a staged signal the expiry job already closed', async () => {
    const staged = await insertStaged(db(), aliceStrategy, { expiresAt: new Date(Date.now() - 60_000) });
    await db().update(stagingTrades).set({ status: 'expired' }).where(eq(stagingTrades.id, staged.id));
    const failure = await trpcFailure(() => alice.client.webhooks.approveStaged.mutate({ id: staged.id }));
    expect([failure.data?.code, failure.message]).toEqual([
      'PRECONDITION_FAILED',
      expect.stringMatching(/^This staged signal expired at .* without a decision/),
    ]);
  });
});

describe('ownership', () => {
  it('answers NOT_FOUND to another user, as for a missing id, and changes nothing', async () => {
    const staged = await insertStaged(db(), aliceStrategy);
    for (const id of [staged.id, MISSING]) {
      const approve = await trpcFailure(() => bob.client.webhooks.approveStaged.mutate({ id }));
      const reject = await trpcFailure(() => bob.client.webhooks.rejectStaged.mutate({ id, reason: 'mine now' }));
      expect([approve.data?.code, approve.data?.appCode, reject.data?.code]).toEqual([
        'NOT_FOUND',
        'not-found',
        'NOT_FOUND',
      ]);
      expect(approve.message).toBe('Staged signal not found');
    }
    expect(await stagingRow(db(), staged.id)).toMatchObject({ status: 'pending', decidedBy: null });
    expect((await logRow(db(), staged.webhookLogId))?.status).toBe('staged');
    expect(await stagingAudits(db(), staged.id)).toEqual([]);
    expect(await server.queues.signals.getJob(approvedSignalJobId(staged.webhookLogId))).toBeUndefined();
  });
});

describe('getStaged', () => {
  it('lists only the caller’s staged signals, newest first, filtered by strategy and status, in pages', async () => {
    const own = await signUp(server.url);
    const first = await insertStrategy(db(), own.id);
    const second = await insertStrategy(db(), own.id);
    const a = await insertStaged(db(), first, { symbol: 'MSFT' });
    const b = await insertStaged(db(), second);
    const c = await insertStaged(db(), first);
    await own.client.webhooks.rejectStaged.mutate({ id: c.id });

    const all = await own.client.webhooks.getStaged.query({});
    expect(all.items.map((item) => item.id)).toEqual([c.id, b.id, a.id]);
    expect(all.items[2]).toMatchObject({
      strategyId: first,
      symbol: 'MSFT',
      status: 'pending',
      webhookLogId: a.webhookLogId,
    });
    expect(all.items[2]?.strategyName).toMatch(/^S-/);
    expect(all.nextCursor).toBeNull();

    const byStrategy = await own.client.webhooks.getStaged.query({ strategyId: first });
    expect(byStrategy.items.map((item) => item.id)).toEqual([c.id, a.id]);
    const pending = await own.client.webhooks.getStaged.query({ strategyId: first, status: 'pending' });
    expect(pending.items.map((item) => item.id)).toEqual([a.id]);

    const page1 = await own.client.webhooks.getStaged.query({ limit: 2 });
    expect(page1.items.map((item) => item.id)).toEqual([c.id, b.id]);
    const page2 = await own.client.webhooks.getStaged.query({ limit: 2, cursor: page1.nextCursor ?? 0 });
    expect(page2).toEqual({ items: [expect.objectContaining({ id: a.id })], nextCursor: null });

    // Another user sees none of them, even when naming the strategy.
    expect((await bob.client.webhooks.getStaged.query({ strategyId: first })).items).toEqual([]);
    expect((await bob.client.webhooks.getStaged.query({})).items.map((item) => item.strategyId)).not.toContain(first);
  });

  it('refuses a limit over 100 and an unknown status', async () => {
    expect((await trpcFailure(() => alice.client.webhooks.getStaged.query({ limit: 101 }))).data?.code).toBe(
      'BAD_REQUEST',
    );
    const status = 'maybe' as 'pending';
    expect((await trpcFailure(() => alice.client.webhooks.getStaged.query({ status }))).data?.code).toBe('BAD_REQUEST');
  });
});
