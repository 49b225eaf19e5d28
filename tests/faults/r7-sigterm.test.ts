/**
 * SPEC §13 R7: SIGTERM under load. The api and the worker run as real processes (from sources, on this file's
 * database and Redis prefix, Alpaca pointed at an in-process fake); LANES clients post alerts back to back, each on a
 * connection of its own, while one of the processes is told to stop.
 *
 * "No in-flight request cut", precisely: every request the api received — it logs `incoming request` with the
 * caller's x-request-id — got a complete answer (status line and whole JSON body). For SHUTDOWN_GRACE_MS after the
 * SIGTERM the api keeps accepting with readiness already 503 (a load balancer's deregistration window): every alert
 * sent then is accepted. Once the listener has closed a
 * new connection is refused (ECONNREFUSED), and a connection the kernel queued but the closing server never took up
 * may be reset before any byte was read: neither is an in-flight request, and both may only happen after the SIGTERM.
 * Every 202 answer has its log row and its signal job.
 *
 * "No job lost": the worker, SIGTERMed while it executes signals, finishes what it holds and exits 0 within
 * SHUTDOWN_TIMEOUT_MS; the next worker takes the rest, and every accepted log ends final with no order sent twice to
 * the fake and every position equal to its account's.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookLogs } from '../../drizzle/schema/webhook_logs.ts';
import { createDatabase, type DatabaseHandle } from '../../server/db/client.ts';
import { createRedis } from '../../server/jobs/connection.ts';
import { closeQueues, createQueues, type Queues } from '../../server/jobs/queue-factory.ts';
import { QUEUE_CONFIGS } from '../../server/jobs/queues/index.ts';
import { env } from '../../server/lib/env.ts';
import { logger } from '../../server/lib/logger.ts';
import type { RedisClient } from '../../server/lib/redis-client.ts';
import { signalJobId } from '../../shared/jobs.ts';
import type { FakeAlpaca } from '../fakes/alpaca.ts';
import { type ApiProcess, startApiProcess } from '../helpers/api-process.ts';
import { waitFor } from '../helpers/app.ts';
import {
  bookProblems,
  FAULT_SYMBOL,
  type RoutedAccount,
  routeStrategies,
  settle,
  startFundedAlpaca,
  unexpectedEndings,
} from '../helpers/fault-books.ts';
import { WEBHOOK_PATH } from '../helpers/webhooks.ts';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.ts';

const STRATEGIES = 16;
const LANES = 6;
/** Between two posts of one lane: the load stays steady rather than saturating the 2-core machine. */
const PAUSE_MS = 25;
const SHUTDOWN_TIMEOUT_MS = 10_000;
/** Requests held half-sent across the api's SIGTERM, and how long after it their bodies are completed. */
const HELD = 4;
const HOLD_AFTER_SIGTERM_MS = 500;
/** The api's SHUTDOWN_GRACE_MS: it keeps serving this long after the SIGTERM, readiness already 503. */
const GRACE_MS = 1_500;

interface Outcome {
  requestId: string;
  sentAt: number;
  endedAt: number;
  /** The TCP connection was established. */
  connected: boolean;
  status?: number;
  body?: Record<string, unknown>;
  /** The error code when no complete answer came (ECONNREFUSED, ECONNRESET, …). */
  error?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const runTag = randomUUID().slice(0, 8);
const logFiles: string[] = [];

let alpaca: FakeAlpaca;
let processEnv: Record<string, string>;
let routed: RoutedAccount[];
let direct: DatabaseHandle;
let producer: RedisClient;
let queues: Queues;
const apis: ApiProcess[] = [];
const workers: WorkerProcess[] = [];
/** Every log id answered 202 over the whole file. */
const accepted: number[] = [];
let sequence = 0;

/** The api, logging into a file of this test's own, read back to see which requests it received. */
async function startApi(): Promise<{ api: ApiProcess; logFile: string }> {
  const logFile = join(tmpdir(), `fillpath-r7-${runTag}-${logFiles.length}.log`);
  logFiles.push(logFile);
  const api = await startApiProcess({ ...processEnv, LOG_FILE: logFile, SHUTDOWN_GRACE_MS: String(GRACE_MS) });
  apis.push(api);
  await api.ready(30_000);
  return { api, logFile };
}

async function startWorker(): Promise<WorkerProcess> {
  const worker = await startWorkerProcess(processEnv);
  workers.push(worker);
  await worker.ready(30_000);
  return worker;
}

beforeAll(async () => {
  alpaca = await startFundedAlpaca('r7', STRATEGIES);
  processEnv = {
    ALPACA_PAPER_URL: alpaca.url,
    ALPACA_LIVE_URL: alpaca.url,
    LOG_LEVEL: 'info',
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
  };
  direct = createDatabase({ url: env.DATABASE_URL, poolSize: 2, queueLimit: 50 });
  producer = createRedis(env.REDIS_URL, 'producer', logger);
  queues = createQueues(QUEUE_CONFIGS, producer, logger);
}, 30_000);

afterAll(async () => {
  await Promise.all([...apis, ...workers].map((child) => child.kill()));
  await closeQueues(queues);
  producer?.disconnect();
  await direct?.close();
  await alpaca?.close();
  for (const file of logFiles) rmSync(file, { force: true });
});

/** One alert on a connection of its own (no keep-alive: each request is its own connection to accept or refuse). */
function postFresh(baseUrl: string): Promise<Outcome> {
  return postAlertOn(baseUrl, false).outcome;
}

/**
 * With `held`, only the headers and the first half of the body go out; `finish()` sends the rest. Such a request is
 * in flight at the server for as long as the test holds it.
 */
function postAlertOn(baseUrl: string, held: boolean): { requestId: string; outcome: Promise<Outcome>; finish(): void } {
  const n = sequence++;
  const strategy = routed[n % STRATEGIES] as RoutedAccount;
  const round = Math.floor(n / STRATEGIES);
  const body = JSON.stringify({
    ticker: FAULT_SYMBOL,
    action: round % 2 === 0 ? 'buy' : 'sell',
    quantity: 1,
    idempotencyKey: `r7-${n}`,
  });
  const outcome: Outcome = { requestId: `r7-${runTag}-${n}`, sentAt: Date.now(), endedAt: 0, connected: false };
  let finish: () => void = () => undefined;
  const answer = new Promise<Outcome>((resolve) => {
    const done = (error?: string) => {
      if (outcome.endedAt) return;
      outcome.endedAt = Date.now();
      if (error) outcome.error = error;
      resolve(outcome);
    };
    const req = request(`${baseUrl}${WEBHOOK_PATH}${strategy.token}`, {
      method: 'POST',
      agent: false,
      headers: {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'x-request-id': outcome.requestId,
      },
    });
    req.on('socket', (socket) => socket.once('connect', () => (outcome.connected = true)));
    req.on('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
    req.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('aborted', () => done('aborted mid-answer'));
      response.on('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
      response.on('end', () => {
        try {
          outcome.body = JSON.parse(text) as Record<string, unknown>;
          outcome.status = response.statusCode;
          done();
        } catch {
          done(`incomplete body: ${text.slice(0, 100)}`);
        }
      });
    });
    if (!held) {
      req.end(body);
      return;
    }
    const half = Math.floor(body.length / 2);
    req.write(body.slice(0, half));
    finish = () => req.end(body.slice(half));
  });
  return { requestId: outcome.requestId, outcome: answer, finish: () => finish() };
}

/** LANES clients posting back to back until stop(), or until their connection is refused (the api is gone). */
function startLoad(baseUrl: () => string) {
  const outcomes: Outcome[] = [];
  let running = true;
  const lane = async () => {
    while (running) {
      const outcome = await postFresh(baseUrl());
      outcomes.push(outcome);
      if (outcome.error === 'ECONNREFUSED') return;
      await sleep(PAUSE_MS);
    }
  };
  const lanes = Promise.all(Array.from({ length: LANES }, lane));
  return {
    outcomes,
    async stop() {
      running = false;
      await lanes;
      return outcomes;
    },
  };
}

/** The x-request-ids of the alerts the api logged as received. */
function receivedByServer(logFile: string): Set<string> {
  const ids = new Set<string>();
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"incoming request"')) continue;
    const entry = JSON.parse(line) as { reqId?: string };
    if (entry.reqId?.startsWith(`r7-${runTag}-`)) ids.add(entry.reqId);
  }
  return ids;
}

async function acceptedHaveRowsAndJobs(ids: number[]) {
  const rows = await direct.db
    .select({ id: webhookLogs.id })
    .from(webhookLogs)
    .where(inArray(webhookLogs.id, ids.length ? ids : [0]));
  expect(rows.map((row) => row.id).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
  const jobs = await Promise.all(ids.map((id) => queues.signals.getJob(signalJobId(id))));
  expect(ids.filter((_, i) => jobs[i] === undefined)).toEqual([]);
}

describe('R7: SIGTERM under load', () => {
  it('api: drains every request it received, answers each completely, exits 0 in time', async () => {
    const { api, logFile } = await startApi();
    routed = await routeStrategies(api.url, 'r7', STRATEGIES);
    const load = startLoad(() => api.url);
    await waitFor(async () => load.outcomes.length >= 100, 20_000, 20);
    // Requests certainly in flight at the SIGTERM: received by the api (it logged them), their bodies half sent.
    const held = Array.from({ length: HELD }, () => postAlertOn(api.url, true));
    const heldIds = new Set(held.map((request) => request.requestId));
    await waitFor(async () => [...heldIds].every((id) => receivedByServer(logFile).has(id)), 10_000, 20);

    const sigtermAt = Date.now();
    const stopping = api.stop();
    await sleep(100);
    // In the grace period: a load balancer's probe already sees 503 while traffic is still served.
    const readyInGrace = (await fetch(`${api.url}/health/ready`)).status;
    await sleep(HOLD_AFTER_SIGTERM_MS - 100);
    for (const request of held) request.finish();
    const code = await stopping;
    const stoppedMs = Date.now() - sigtermAt;
    const outcomes = await load.stop();
    const heldOutcomes = await Promise.all(held.map((request) => request.outcome));

    expect(code, api.output()).toBe(0);
    expect(stoppedMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    expect(stoppedMs).toBeGreaterThanOrEqual(GRACE_MS);
    expect(readyInGrace).toBe(503);
    // Alerts sent well inside the grace period (what a load balancer still routes here) were all accepted.
    const inGrace = outcomes.filter((o) => o.sentAt > sigtermAt + 50 && o.sentAt < sigtermAt + GRACE_MS - 300);
    expect(inGrace.length).toBeGreaterThan(5);
    expect(inGrace.filter((o) => o.status !== 202)).toEqual([]);

    // Every request the api received got a complete answer: 202, or — one that reached it once it was closing,
    // on a connection accepted before — 503 in the API's error shape (after the grace period only).
    const received = receivedByServer(logFile);
    const cut = outcomes.filter((o) => received.has(o.requestId) && o.status === undefined);
    expect(cut, 'requests the api received but never answered completely').toEqual([]);
    const answered = outcomes.filter((o) => o.status !== undefined);
    const off = answered.filter(
      (o) =>
        !(o.status === 202 && o.body?.status === 'accepted') &&
        !(o.status === 503 && o.body?.code === 'service-unavailable' && o.endedAt >= sigtermAt + GRACE_MS),
    );
    expect(off.map((o) => ({ status: o.status, body: o.body }))).toEqual([]);
    // The rest were never taken up by the server: refused (or reset before it read a byte), after the SIGTERM only.
    const unanswered = outcomes.filter((o) => o.status === undefined);
    expect(unanswered.filter((o) => received.has(o.requestId) || o.endedAt < sigtermAt + GRACE_MS)).toEqual([]);
    expect(unanswered.filter((o) => o.error !== 'ECONNREFUSED' && o.error !== 'ECONNRESET')).toEqual([]);

    // The held requests, in flight across the SIGTERM, were served in full after it.
    expect(
      heldOutcomes.map((o) => ({ status: o.status, accepted: o.body?.status, late: o.endedAt > sigtermAt })),
    ).toEqual(heldOutcomes.map(() => ({ status: 202, accepted: 'accepted', late: true })));
    const drained = answered.filter((o) => o.sentAt < sigtermAt && o.endedAt >= sigtermAt);

    const ids = [...answered, ...heldOutcomes].filter((o) => o.status === 202).map((o) => Number(o.body?.id));
    expect(ids.length).toBeGreaterThanOrEqual(100);
    await acceptedHaveRowsAndJobs(ids);
    accepted.push(...ids);
    const count = (error: string) => unanswered.filter((o) => o.error === error).length;
    console.info(
      `R7 api: ${outcomes.length + HELD} posts, ${ids.length} accepted, ${drained.length} + ${HELD} held in flight ` +
        `at SIGTERM answered after it, ${inGrace.length} sent in the grace period all accepted, ${answered.filter((o) => o.status === 503).length} answered 503 while ` +
        `closing, ${count('ECONNREFUSED')} refused and ${count('ECONNRESET')} reset after it; exit ${code} in ` +
        `${stoppedMs} ms`,
    );
  }, 60_000);

  it('worker: finishes its active jobs, exits 0 in time, and the next worker leaves no job lost', async () => {
    const { api } = await startApi();
    const first = await startWorker();
    const load = startLoad(() => api.url);
    // The worker is busy: the backlog of the first test plus the new stream.
    await waitFor(async () => (await queues.signals.getActiveCount()) > 0, 20_000, 20);
    await sleep(1_500);

    const activeAtSigterm = await queues.signals.getActiveCount();
    const sigtermAt = Date.now();
    const code = await first.stop();
    const stoppedMs = Date.now() - sigtermAt;
    expect(code, first.output()).toBe(0);
    expect(stoppedMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);

    // Alerts keep coming while no worker runs; then the next one takes over.
    await sleep(1_000);
    const second = await startWorker();
    await sleep(1_500);
    const outcomes = await load.stop();
    expect(outcomes.filter((o) => o.status !== 202)).toEqual([]);
    const ids = outcomes.map((o) => Number(o.body?.id));
    await acceptedHaveRowsAndJobs(ids);
    accepted.push(...ids);

    const open = await settle(direct.db, accepted, 60_000);
    expect(open, `still open:\n${second.output().slice(-3_000)}`).toBe('');
    // Executed, ignored by the position rules, or failed only because a racing opposite signal cancelled its orders.
    expect(await unexpectedEndings(direct.db, accepted)).toEqual([]);
    expect(await bookProblems(direct.db, alpaca, routed)).toEqual([]);
    // Nothing failed or was left behind in the queue either.
    expect(await queues.signals.getFailedCount()).toBe(0);
    console.info(
      `R7 worker: ${activeAtSigterm} signal jobs active at SIGTERM, exit ${code} in ${stoppedMs} ms; ` +
        `${accepted.length} logs settled`,
    );
  }, 90_000);
});
