/**
 * SPEC §13 R2: Redis stopped for 10 s during ingest. A steady stream of distinct alerts (~20/s, unique
 * idempotencyKeys) flows through the real route while the app's Redis connection — behind a TCP proxy, so the shared
 * Redis other test files use keeps running — is cut for 10 s. Every alert must be answered 202; once Redis is back,
 * the outbox sweep must leave exactly one signal job per accepted log: none lost, none doubled.
 *
 * The sweep only takes logs older than OUTBOX_MIN_AGE_MS (30 s). Rather than wait or rewrite created_at, the test
 * runs the service verb with its injected clock (`now` 31 s ahead), exactly as the worker's maintenance job would
 * see these rows half a minute later.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookLogs } from '../../drizzle/schema/webhook_logs.ts';
import { createRedis } from '../../server/jobs/connection.ts';
import { enqueueSignals } from '../../server/jobs/enqueue.ts';
import { closeQueues, createQueues, type Queues } from '../../server/jobs/queue-factory.ts';
import { QUEUE_CONFIGS } from '../../server/jobs/queues/index.ts';
import { env } from '../../server/lib/env.ts';
import { logger } from '../../server/lib/logger.ts';
import type { RedisClient } from '../../server/lib/redis-client.ts';
import { OUTBOX_MIN_AGE_MS, sweepOutbox } from '../../server/services/webhooks/outbox-sweep.ts';
import { signalJobId } from '../../shared/jobs.ts';
import { startTestApp, type TestApp, waitFor } from '../helpers/app.ts';
import { signUp } from '../helpers/client.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { type AlertAnswer, createWebhookStrategy, postAlert } from '../helpers/webhooks.ts';

const OUTAGE_MS = 10_000;
/** One alert every 50 ms: ~20/s. */
const SEND_EVERY_MS = 50;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let proxy: TcpProxy;
let app: TestApp;
let strategyId: number;
let token: string;
// Queues on a direct connection: the test reads BullMQ while the app's proxied connection is cut.
let producer: RedisClient;
let direct: Queues;

beforeAll(async () => {
  const redisUrl = new URL(env.REDIS_URL);
  proxy = await startTcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
  redisUrl.hostname = '127.0.0.1';
  redisUrl.port = String(proxy.port);
  app = await startTestApp({ redisUrl: redisUrl.toString() });
  await waitFor(async () => app.deps.redis.status === 'ready');
  const trader = await signUp(app.url);
  // The highest budget the schema allows: the stream (~300 alerts in ~15 s) must never meet the rate limit.
  ({ id: strategyId, token } = await createWebhookStrategy(trader.client, { ratePerMinute: 600, ratePerHour: 10_000 }));
  producer = createRedis(env.REDIS_URL, 'producer', logger);
  direct = createQueues(QUEUE_CONFIGS, producer, logger);
});

afterAll(async () => {
  await proxy.restore().catch(() => undefined);
  await closeQueues(direct);
  producer.disconnect();
  await app.close();
  await proxy.close();
});

interface Sent {
  key: string;
  answer: Promise<AlertAnswer>;
}

/** Fires one distinct alert every SEND_EVERY_MS, without waiting for answers, until `stop()`. */
function startStream() {
  const sent: Sent[] = [];
  let running = true;
  const loop = (async () => {
    let n = 0;
    while (running) {
      const key = `r2-${++n}`;
      const body = JSON.stringify({
        ticker: 'MES1!',
        action: n % 2 ? 'buy' : 'sell',
        quantity: 1,
        idempotencyKey: key,
      });
      sent.push({ key, answer: postAlert(app.url, token, body) });
      await sleep(SEND_EVERY_MS);
    }
  })();
  return {
    sent,
    async stop() {
      running = false;
      await loop;
      return Promise.all(sent.map((s) => s.answer));
    },
  };
}

describe('R2: Redis cut for 10 s while alerts stream in', () => {
  it('answers every alert 202 and, after the sweep, holds exactly one signal job per accepted log', async () => {
    const stream = startStream();
    await sleep(1_500);

    await proxy.cut();
    await waitFor(async () => app.deps.redis.status !== 'ready', 2_000, 10);
    const cutAt = stream.sent.length;
    await sleep(OUTAGE_MS);
    const restoredAt = stream.sent.length;
    await proxy.restore();
    await waitFor(async () => app.deps.redis.status === 'ready', 5_000, 20);
    // Keep streaming a little on the recovered connection: those alerts must be enqueued at once again.
    const readyAt = stream.sent.length;
    await waitFor(async () => stream.sent.length >= readyAt + 20, 5_000, 20);
    const answers = await stream.stop();

    // ~20/s for ~10 s of outage: the stream really ran through it.
    expect(restoredAt - cutAt).toBeGreaterThan(150);
    const refused = answers.filter((a) => a.status !== 202);
    expect(refused.map((a) => ({ status: a.status, body: a.body }))).toEqual([]);
    for (const answer of answers) {
      expect(answer.body).toEqual({ ok: true, id: expect.any(Number), status: 'accepted' });
      expect(answer.elapsedMs).toBeLessThan(2_500);
    }
    const ids = answers.map((a) => Number(a.body.id));
    expect(new Set(ids).size).toBe(ids.length);

    // One log per alert, each carrying its own idempotencyKey, none beyond them.
    const db = app.deps.database.db;
    const rows = await db
      .select({ id: webhookLogs.id, status: webhookLogs.status, payload: webhookLogs.payload })
      .from(webhookLogs)
      .where(eq(webhookLogs.strategyId, strategyId));
    expect(rows.map((r) => r.id).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    const keyOf = new Map(rows.map((r) => [r.id, (r.payload as { idempotencyKey?: string } | null)?.idempotencyKey]));
    stream.sent.forEach((s, i) => {
      expect(keyOf.get(ids[i] as number)).toBe(s.key);
    });

    // No worker runs here: every log is still `received`; those of the outage have no job yet.
    expect(rows.every((r) => r.status === 'received')).toBe(true);
    const before = await Promise.all(ids.map((id) => direct.signals.getJob(signalJobId(id))));
    const missing = ids.filter((_, i) => before[i] === undefined);
    expect(missing.length).toBeGreaterThanOrEqual(restoredAt - cutAt - 5);
    // Alerts before the cut and after the recovery were enqueued by the request itself.
    expect(before[0]).toBeDefined();
    expect(before.at(-1)).toBeDefined();

    // The maintenance sweep, seen OUTBOX_MIN_AGE_MS later. It re-offers every `received` log, including those that
    // already have a job: the job id makes that harmless. Run it twice to show a repeated sweep adds nothing either.
    const ctx = { db, log: logger, requestId: 'r2-sweep', actor: { type: 'system' as const } };
    const sweep = () =>
      sweepOutbox(ctx, (batch) => enqueueSignals(direct, batch), {
        now: new Date(Date.now() + OUTBOX_MIN_AGE_MS + 1_000),
      });
    expect((await sweep()).swept).toBe(ids.length);
    expect((await sweep()).swept).toBe(ids.length);

    const after = await Promise.all(ids.map((id) => direct.signals.getJob(signalJobId(id))));
    after.forEach((job, i) => {
      expect(job?.id).toBe(signalJobId(ids[i] as number));
      expect(job?.data).toMatchObject({ webhookLogId: ids[i] });
    });
    // Exactly one job per log in the whole queue: nothing doubled, nothing foreign.
    const all = await direct.signals.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed']);
    const jobIds = all.map((job) => job.id).sort();
    expect(jobIds).toEqual(ids.map((id) => signalJobId(id)).sort());
  }, 40_000);
});
