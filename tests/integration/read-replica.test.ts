/**
 * Read replicas (DATABASE_READ_URL, server/trpc/read-routing.ts). A second database stands in for the replica and
 * nothing replicates into it, so a row put only there shows that a read went to the replica, and a row only on the
 * primary that it did not. The rule: a signed-in user's queries read the replica, except for a while after their
 * data changed (their own mutation, a change announced to them) or after they signed in; mutations, transactions and
 * writes use the primary; the worker never opens the replica.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strategies } from '../../drizzle/schema/strategies.ts';
import { users } from '../../drizzle/schema/users.ts';
import { createDatabase } from '../../server/db/client.ts';
import { env } from '../../server/lib/env.ts';
import { logger } from '../../server/lib/logger.ts';
import { renderMetrics } from '../../server/lib/metrics.ts';
import { notingWrites, recentWriteKey, redisRecentWrites } from '../../server/lib/recent-writes.ts';
import { signAccessToken } from '../../server/lib/tokens.ts';
import { publishWebhookReceipt, setEventSink } from '../../server/services/events/publish.ts';
import { startTestApp, type TestApp, waitFor } from '../helpers/app.ts';
import { type ApiClient, apiClient, type SignedInUser, signUp } from '../helpers/client.ts';
import { useReplicaDatabase, useTestDatabase } from '../helpers/db.ts';
import { insertStrategy } from '../helpers/fixtures.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';
import { startWorkerProcess } from '../helpers/worker-process.ts';

const primary = useTestDatabase();
const replicaUrl = useReplicaDatabase();
const replicaName = new URL(replicaUrl).pathname.slice(1);
// Written to directly: the stand-in replica's content is whatever a test puts there.
const replica = createDatabase({ url: replicaUrl, poolSize: 2, queueLimit: 10 });
afterAll(() => replica.close());

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ readUrl: replicaUrl });
});
afterAll(() => app.close());

/** "Replicates" the user's row, so rows of theirs can be put on the replica (foreign keys hold there too). */
async function replicateUser(userId: number): Promise<void> {
  const [columns] = await primary.pool.query<RowDataPacket[]>(
    `SELECT column_name AS name FROM information_schema.columns
      WHERE table_schema = DATABASE() AND table_name = 'users' AND extra NOT LIKE '%GENERATED%'`,
  );
  const list = columns.map((c) => `\`${String(c.name)}\``).join(', ');
  await primary.pool.query(`INSERT INTO \`${replicaName}\`.users (${list}) SELECT ${list} FROM users WHERE id = ?`, [
    userId,
  ]);
}

/**
 * A client of `user` whose access token was issued a minute ago, as for someone who signed in a while back: a token
 * younger than the read-your-writes window reads the primary.
 */
async function settledClient(baseUrl: string, user: SignedInUser): Promise<ApiClient> {
  const sessionFamily = String(decodeJwt(user.accessToken).fam);
  const token = await signAccessToken({ userId: user.id, role: 'user', sessionFamily }, new Date(Date.now() - 60_000));
  rememberSecret(token);
  return apiClient(baseUrl, token);
}

const listedNames = async (client: ApiClient) =>
  (await client.strategies.list.query({})).items.map((s) => s.name).sort();

/** A user with one strategy only on the primary and one only on the replica. */
async function userWithDivergedStrategies() {
  const user = await signUp(app.url);
  await replicateUser(user.id);
  await insertStrategy(primary.db, user.id, 'on the primary');
  await insertStrategy(replica.db, user.id, 'on the replica');
  return { user, client: await settledClient(app.url, user) };
}

describe('with DATABASE_READ_URL', () => {
  it("serves a settled user's queries from the replica", async () => {
    const { client } = await userWithDivergedStrategies();
    expect(await listedNames(client)).toEqual(['on the replica']);
    const pools = app.deps.database.poolStatsByName();
    expect(pools.replica).toMatchObject({ limit: 4 });
    expect(pools.replica?.open).toBeGreaterThan(0);
    expect(await renderMetrics()).toMatch(/fillpath_db_pool_max_connections\{pool="replica"\} [1-9]/);
  });

  it('reads the primary for a user who has just signed up or in', async () => {
    const { user } = await userWithDivergedStrategies();
    expect(await listedNames(user.client)).toEqual(['on the primary']);
  });

  it("runs a mutation's reads on the primary: a user the replica does not have yet can change their password", async () => {
    const user = await signUp(app.url);
    const client = await settledClient(app.url, user);
    const newPassword = `pw-${randomUUID()}`;
    rememberSecret(newPassword);
    const changed = await client.auth.changePassword.mutate({ currentPassword: user.password, newPassword });
    expect(changed).toMatchObject({ ok: true });
    expect(await replica.db.select().from(users).where(eq(users.id, user.id))).toEqual([]);
  });

  it('after a mutation, reads the primary on every api instance until the window passes', async () => {
    const { user, client } = await userWithDivergedStrategies();
    const created = await client.strategies.create.mutate({ name: 'just created' });
    expect(await replica.db.select().from(strategies).where(eq(strategies.id, created.strategy.id))).toEqual([]);

    expect(await listedNames(client)).toEqual(['just created', 'on the primary']);
    const other = await startTestApp({ readUrl: replicaUrl });
    try {
      expect(await listedNames(await settledClient(other.url, user))).toEqual(['just created', 'on the primary']);
    } finally {
      await other.close();
    }

    // The window's end, without waiting for it.
    await app.deps.redis.del(recentWriteKey(user.id));
    expect(await listedNames(client)).toEqual(['on the replica']);
  });

  it('reads the primary after a change announced to the user (an order event, a portfolio invalidation)', async () => {
    const { user, client } = await userWithDivergedStrategies();
    // As server/api.ts and server/worker.ts install their sinks.
    const announced: number[] = [];
    setEventSink({
      publish: notingWrites(redisRecentWrites(app.deps.redis, logger), (userId) => announced.push(userId)),
    });
    try {
      const receipt = { webhookLogId: 1, strategyId: 1, source: 'tradingview', code: null, duplicateOf: null } as const;
      publishWebhookReceipt(user.id, { ...receipt, status: 'accepted' });
      expect(announced).toEqual([user.id]);
      expect(await listedNames(client)).toEqual(['on the primary']);
    } finally {
      setEventSink(null);
    }
  });

  it('reads the primary while Redis cannot say whether the user just wrote', async () => {
    const redisUrl = new URL(env.REDIS_URL);
    const proxy = await startTcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
    redisUrl.hostname = '127.0.0.1';
    redisUrl.port = String(proxy.port);
    const cutOff = await startTestApp({ readUrl: replicaUrl, redisUrl: redisUrl.toString() });
    try {
      const { user } = await userWithDivergedStrategies();
      const client = await settledClient(cutOff.url, user);
      await waitFor(async () => cutOff.deps.redis.status === 'ready');
      expect(await listedNames(client)).toEqual(['on the replica']);
      await proxy.cut();
      await waitFor(async () => cutOff.deps.redis.status !== 'ready');
      expect(await listedNames(client)).toEqual(['on the primary']);
    } finally {
      await cutOff.close();
      await proxy.close();
    }
  });

  it('sends writes and transactions through the replica-reading handle to the primary', async () => {
    const { user } = await userWithDivergedStrategies();
    const { replicaDb } = app.deps.database;
    const [inserted] = await replicaDb
      .insert(strategies)
      .values({ userId: user.id, name: 'written', webhookTokenHash: 'h'.repeat(64), webhookTokenEnc: 'unused' })
      .$returningId();
    const id = inserted?.id ?? 0;
    expect(await primary.db.select({ id: strategies.id }).from(strategies).where(eq(strategies.id, id))).toEqual([
      { id },
    ]);
    expect(await replica.db.select().from(strategies).where(eq(strategies.id, id))).toEqual([]);

    // Inside a transaction every statement is on the primary, the reads included.
    const inTransaction = await replicaDb.transaction((tx) =>
      tx.select({ name: strategies.name }).from(strategies).where(eq(strategies.userId, user.id)),
    );
    expect(inTransaction.map((s) => s.name).sort()).toEqual(['on the primary', 'written']);
    // A plain select outside one goes to the replica.
    const plain = await replicaDb
      .select({ name: strategies.name })
      .from(strategies)
      .where(eq(strategies.userId, user.id));
    expect(plain.map((s) => s.name)).toEqual(['on the replica']);
  });
});

describe('without DATABASE_READ_URL', () => {
  it('reads and writes the primary only', async () => {
    const single = await startTestApp();
    try {
      const { user } = await userWithDivergedStrategies();
      const client = await settledClient(single.url, user);
      expect(single.deps.database.hasReplica).toBe(false);
      expect(single.deps.database.replicaDb).toBe(single.deps.database.db);
      expect(Object.keys(single.deps.database.poolStatsByName())).toEqual(['primary']);
      expect(await listedNames(client)).toEqual(['on the primary']);
      await client.strategies.create.mutate({ name: 'created' });
      expect(await single.deps.redis.exists(recentWriteKey(user.id))).toBe(0);
    } finally {
      await single.close();
    }
  });
});

describe('the worker', () => {
  it('opens no replica pool even when DATABASE_READ_URL is set', async () => {
    const worker = await startWorkerProcess({ DATABASE_READ_URL: replicaUrl, METRICS_TOKEN: '' });
    try {
      await worker.ready();
      const text = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
      expect(text).toMatch(/fillpath_db_pool_max_connections\{pool="primary"\} [1-9]/);
      expect(text).not.toContain('pool="replica"');
      expect(await worker.stop()).toBe(0);
    } finally {
      await worker.kill();
    }
  }, 30_000);
});
