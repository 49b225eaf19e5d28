/**
 * admin.deadLetters over HTTP: owners list, replay and discard their own dead letters, other users get NOT_FOUND,
 * administrators see and act on all. A replay adds its job to the original queue exactly once (job id `dl-<id>`),
 * runs the queue's replay hook in its transaction, and reopens the dead letter when the add fails.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerOrders } from '../../../drizzle/schema/broker_orders.ts';
import { deadLetters } from '../../../drizzle/schema/dead_letters.ts';
import { users } from '../../../drizzle/schema/users.ts';
import { createRedis } from '../../../server/jobs/connection.ts';
import { enqueueReplayJob } from '../../../server/jobs/dead-letters.ts';
import { closeQueues, createQueues } from '../../../server/jobs/queue-factory.ts';
import { QUEUE_CONFIGS } from '../../../server/jobs/queues/index.ts';
import { logger } from '../../../server/lib/logger.ts';
import type { ServiceContext } from '../../../server/services/context.ts';
import { recordDeadLetter } from '../../../server/services/dead-letters/record.ts';
import { replayDeadLetter } from '../../../server/services/dead-letters/replay.ts';
import { registerReplayHook } from '../../../server/services/dead-letters/replay-hooks.ts';
import { Precondition, ServiceUnavailable } from '../../../server/services/errors.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { apiClient, type SignedInUser, signUp, trpcFailure } from '../../helpers/client.ts';
import { useTestDatabase } from '../../helpers/db.ts';
import { deadLetterAudits, deadLetterRow, insertOwnedRows, orderStatus, systemContext } from './fixtures.ts';

const { db } = useTestDatabase();
let server: TestApp;
let alice: SignedInUser;
let bob: SignedInUser;
let admin: SignedInUser;
beforeAll(async () => {
  server = await startTestApp({ rateLimits: { loginPerIp: { points: 1_000, durationS: 900 } } });
  [alice, bob, admin] = await Promise.all([signUp(server.url), signUp(server.url), signUp(server.url, 'Admin')]);
  await db.update(users).set({ role: 'admin' }).where(eq(users.id, admin.id));
  const session = await apiClient(server.url).auth.login.mutate({ email: admin.email, password: admin.password });
  admin = { ...admin, accessToken: session.accessToken, client: apiClient(server.url, session.accessToken) };
});
afterAll(() => server.close());

let jobCounter = 0;
/** A dead letter of a failed `submit-order` job for a fresh order of `userId` (or of no one). */
async function deadOrder(userId: number | null): Promise<{ id: number; orderId: number }> {
  const orderId = userId === null ? 900_000_000 + jobCounter : (await insertOwnedRows(db, userId)).orderId;
  const { deadLetter } = await recordDeadLetter(systemContext(db), {
    queue: 'orders',
    jobName: 'submit-order',
    jobId: `test-${++jobCounter}`,
    payload: { orderId },
    error: 'broker answered 503',
    attempts: 6,
  });
  return { id: deadLetter.id, orderId };
}

/** Every job in the orders queue (no worker runs in this file, so replayed jobs wait there). */
async function orderJobs() {
  const jobs = await server.queues.orders.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'completed']);
  return jobs.map((job) => ({ id: job.id, name: job.name, data: job.data }));
}

describe('list', () => {
  it('shows owners their own dead letters, administrators all, newest first, filtered and paged', async () => {
    const a1 = await deadOrder(alice.id);
    const a2 = await deadOrder(alice.id);
    const b1 = await deadOrder(bob.id);
    const system = await deadOrder(null);

    const own = await alice.client.admin.deadLetters.list.query({});
    expect(own.items.map((item) => item.id)).toEqual([a2.id, a1.id]);
    expect(own.items[0]).toMatchObject({
      queue: 'orders',
      jobName: 'submit-order',
      jobId: expect.any(String),
      userId: alice.id,
      payload: { orderId: a2.orderId },
      error: 'broker answered 503',
      attempts: 6,
      status: 'open',
      resolvedBy: null,
      resolvedAt: null,
    });
    expect((await bob.client.admin.deadLetters.list.query({})).items.map((item) => item.id)).toEqual([b1.id]);

    const all = await admin.client.admin.deadLetters.list.query({ limit: 100 });
    expect(all.items.map((item) => item.id)).toEqual(expect.arrayContaining([a1.id, a2.id, b1.id, system.id]));

    const first = await alice.client.admin.deadLetters.list.query({ limit: 1 });
    expect(first.items.map((item) => item.id)).toEqual([a2.id]);
    const second = await alice.client.admin.deadLetters.list.query({ limit: 1, cursor: first.nextCursor ?? 0 });
    expect(second).toEqual({ items: [expect.objectContaining({ id: a1.id })], nextCursor: null });

    await alice.client.admin.deadLetters.discard.mutate({ id: a1.id });
    const open = await alice.client.admin.deadLetters.list.query({ status: 'open' });
    expect(open.items.map((item) => item.id)).toEqual([a2.id]);
    expect((await alice.client.admin.deadLetters.list.query({ queue: 'signals' })).items).toEqual([]);
  });

  it('answers UNAUTHORIZED without a token and refuses a limit over 100', async () => {
    const anonymous = apiClient(server.url);
    expect((await trpcFailure(() => anonymous.admin.deadLetters.list.query({}))).data?.code).toBe('UNAUTHORIZED');
    expect((await trpcFailure(() => alice.client.admin.deadLetters.list.query({ limit: 101 }))).data?.code).toBe(
      'BAD_REQUEST',
    );
  });
});

describe('ownership', () => {
  it('answers NOT_FOUND to another user, as for an id that does not exist, and changes nothing', async () => {
    const { id } = await deadOrder(alice.id);
    for (const target of [id, 999_999_999]) {
      const replay = await trpcFailure(() => bob.client.admin.deadLetters.replay.mutate({ id: target }));
      const discard = await trpcFailure(() => bob.client.admin.deadLetters.discard.mutate({ id: target }));
      expect([replay.data?.code, replay.data?.appCode, discard.data?.code]).toEqual([
        'NOT_FOUND',
        'not-found',
        'NOT_FOUND',
      ]);
    }
    expect(await deadLetterRow(db, id)).toMatchObject({ status: 'open', resolvedBy: null });
    expect(await orderJobs()).not.toContainEqual(expect.objectContaining({ id: `dl-${id}` }));
  });

  it('lets an administrator act on anyone’s dead letter, audited as admin', async () => {
    const { id } = await deadOrder(bob.id);
    const discarded = await admin.client.admin.deadLetters.discard.mutate({ id });
    expect(discarded).toMatchObject({ id, status: 'discarded', resolvedBy: admin.id, resolvedAt: expect.any(Date) });
    expect((await deadLetterAudits(db, id)).at(-1)).toMatchObject({
      action: 'dead_letter.discard',
      actorType: 'admin',
      userId: admin.id,
      oldValue: { status: 'open' },
      newValue: { status: 'discarded' },
    });
  });
});

describe('replay', () => {
  it('adds the job to its original queue once, even when asked twice at the same time, and again later', async () => {
    const { id, orderId } = await deadOrder(alice.id);
    const answers = await Promise.all([
      alice.client.admin.deadLetters.replay.mutate({ id }),
      alice.client.admin.deadLetters.replay.mutate({ id }),
    ]);
    for (const answer of answers) expect(answer).toMatchObject({ id, status: 'replayed', resolvedBy: alice.id });
    await alice.client.admin.deadLetters.replay.mutate({ id });

    const jobs = (await orderJobs()).filter((job) => job.data.orderId === orderId);
    expect(jobs).toEqual([{ id: `dl-${id}`, name: 'submit-order', data: { orderId } }]);
    expect(await deadLetterRow(db, id)).toMatchObject({ status: 'replayed', resolvedBy: alice.id });
    const audits = await deadLetterAudits(db, id);
    expect(audits.map((audit) => audit.action)).toEqual(['dead_letter.create', 'dead_letter.replay']);
    expect(audits[1]).toMatchObject({ actorType: 'user', userId: alice.id, newValue: { replayJobId: `dl-${id}` } });
  });

  it('runs the queue’s replay hook in its transaction, and a hook that refuses stops the replay', async () => {
    const refused = await deadOrder(alice.id);
    const seen: Record<string, unknown>[] = [];
    // As the execution engine's hook does: a failed order goes back to pending for the replayed submit job.
    const unregister = registerReplayHook('orders', async (tx, payload) => {
      seen.push(payload);
      if (payload.orderId === refused.orderId) throw new Precondition('this order cannot be retried');
      await tx
        .update(brokerOrders)
        .set({ status: 'pending' })
        .where(eq(brokerOrders.id, Number(payload.orderId)));
    });
    try {
      const { id, orderId } = await deadOrder(alice.id);
      await alice.client.admin.deadLetters.replay.mutate({ id });
      expect(seen).toEqual([{ orderId }]);
      expect(await orderStatus(db, orderId)).toBe('pending');

      const failure = await trpcFailure(() => alice.client.admin.deadLetters.replay.mutate({ id: refused.id }));
      expect([failure.data?.code, failure.message]).toEqual(['PRECONDITION_FAILED', 'this order cannot be retried']);
      expect(await deadLetterRow(db, refused.id)).toMatchObject({ status: 'open', resolvedBy: null });
      expect(await orderStatus(db, refused.orderId)).toBe('failed');
      expect(await orderJobs()).not.toContainEqual(expect.objectContaining({ id: `dl-${refused.id}` }));
    } finally {
      unregister();
    }
  });

  it('reopens the dead letter and answers SERVICE_UNAVAILABLE when the job cannot be added', async () => {
    const { id, orderId } = await deadOrder(alice.id);
    const enqueueReplay = server.deps.enqueueReplay;
    server.deps.enqueueReplay = () => Promise.reject(new Error('Connection is closed.'));
    try {
      const failure = await trpcFailure(() => alice.client.admin.deadLetters.replay.mutate({ id }));
      expect([failure.data?.code, failure.data?.appCode]).toEqual(['SERVICE_UNAVAILABLE', 'service-unavailable']);
      expect(failure.message).toMatch(/not replayed/);
    } finally {
      server.deps.enqueueReplay = enqueueReplay;
    }
    expect(await deadLetterRow(db, id)).toMatchObject({ status: 'open', resolvedBy: null, resolvedAt: null });
    expect((await deadLetterAudits(db, id)).map((audit) => audit.action)).toEqual([
      'dead_letter.create',
      'dead_letter.replay',
      'dead_letter.replay_failed',
    ]);
    expect(await orderJobs()).not.toContainEqual(expect.objectContaining({ id: `dl-${id}` }));

    // Once the queue is back, the same dead letter replays normally.
    await alice.client.admin.deadLetters.replay.mutate({ id });
    expect(await orderJobs()).toContainEqual({ id: `dl-${id}`, name: 'submit-order', data: { orderId } });
  });

  it('reopens the dead letter when Redis itself cannot be reached', async () => {
    const { id } = await deadOrder(alice.id);
    // Nothing listens on port 1: a real producer connection that never becomes ready.
    const offline = createRedis('redis://127.0.0.1:1', 'producer', logger);
    const offlineQueues = createQueues(QUEUE_CONFIGS, offline, logger);
    const ctx: ServiceContext = {
      db,
      log: logger,
      requestId: 'test-offline',
      actor: { type: 'user', userId: alice.id, role: 'user' },
    };
    try {
      const replay = replayDeadLetter(
        ctx,
        (queue, name, payload, jobId) => enqueueReplayJob(offlineQueues, queue, name, payload, jobId),
        id,
      );
      await expect(replay).rejects.toBeInstanceOf(ServiceUnavailable);
    } finally {
      await closeQueues(offlineQueues);
      offline.disconnect();
    }
    expect(await deadLetterRow(db, id)).toMatchObject({ status: 'open', resolvedBy: null });
  });

  it('refuses a discarded dead letter, and one whose stored job its queue no longer accepts', async () => {
    const { id } = await deadOrder(alice.id);
    await alice.client.admin.deadLetters.discard.mutate({ id });
    const discarded = await trpcFailure(() => alice.client.admin.deadLetters.replay.mutate({ id }));
    expect(discarded.data?.code).toBe('PRECONDITION_FAILED');

    const [stale] = await db
      .insert(deadLetters)
      .values({ queue: 'orders', jobName: 'submit-order', userId: alice.id, payload: { orderId: 'x' }, error: 'e' })
      .$returningId();
    const staleId = stale?.id ?? 0;
    const refused = await trpcFailure(() => alice.client.admin.deadLetters.replay.mutate({ id: staleId }));
    expect(refused.data?.code).toBe('PRECONDITION_FAILED');
    expect(await deadLetterRow(db, staleId)).toMatchObject({ status: 'open' });
  });
});

describe('discard', () => {
  it('closes an open dead letter once, audited, and cannot discard a replayed one', async () => {
    const { id } = await deadOrder(alice.id);
    const first = await alice.client.admin.deadLetters.discard.mutate({ id });
    expect(first).toMatchObject({ id, status: 'discarded', resolvedBy: alice.id });
    // A retried call answers the same row and writes nothing more.
    expect(await alice.client.admin.deadLetters.discard.mutate({ id })).toMatchObject({ status: 'discarded' });
    expect((await deadLetterAudits(db, id)).map((audit) => [audit.action, audit.actorType])).toEqual([
      ['dead_letter.create', 'system'],
      ['dead_letter.discard', 'user'],
    ]);
    expect(await orderJobs()).not.toContainEqual(expect.objectContaining({ id: `dl-${id}` }));

    const replayed = await deadOrder(alice.id);
    await alice.client.admin.deadLetters.replay.mutate({ id: replayed.id });
    const failure = await trpcFailure(() => alice.client.admin.deadLetters.discard.mutate({ id: replayed.id }));
    expect(failure.data?.code).toBe('PRECONDITION_FAILED');
    expect(await deadLetterRow(db, replayed.id)).toMatchObject({ status: 'replayed' });
  });
});
