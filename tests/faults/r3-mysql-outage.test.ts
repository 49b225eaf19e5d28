/**
 * SPEC §13 R3: MySQL goes away and comes back while signals execute. The shared MariaDB other test files use keeps
 * running: the api (in this process) and the worker (a child process) both reach it through a TCP proxy, which is
 * cut — every open connection dropped, new ones refused — for OUTAGE_MS, then restored. Nothing is restarted.
 *
 * What must hold: both processes answer /health/ready 503 (naming the database) while it is away and 200 once it is
 * back; an alert sent during the outage is answered 503 `service-unavailable` and leaves nothing behind, so the same
 * alert sent again afterwards is accepted, not taken for a duplicate; the signals caught mid-execution by the cut
 * all end final once it is over, with no order sent twice to the fake broker and every position equal to its
 * account's.
 */
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookLogs } from '../../drizzle/schema/webhook_logs.ts';
import { BrokerRegistry } from '../../server/brokers/registry.ts';
import { createDatabase, type DatabaseHandle } from '../../server/db/client.ts';
import { env } from '../../server/lib/env.ts';
import type { FakeAlpaca } from '../fakes/alpaca.ts';
import { startTestApp, type TestApp, waitFor } from '../helpers/app.ts';
import {
  bookProblems,
  FAULT_SYMBOL,
  logStatusCounts,
  type RoutedAccount,
  routeStrategies,
  settle,
  startFundedAlpaca,
  unexpectedEndings,
} from '../helpers/fault-books.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { type AlertAnswer, postAlert } from '../helpers/webhooks.ts';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.ts';

const STRATEGIES = 4;
/** Alerts per strategy in the burst sent just before the cut, and again after the recovery. */
const BURST = 6;
const OUTAGE_MS = 6_000;
/** Alerts sent (one at a time, round-robin) while the database is away. */
const DURING_OUTAGE = 8;

let proxy: TcpProxy;
let alpaca: FakeAlpaca;
let registry: BrokerRegistry;
let app: TestApp;
let worker: WorkerProcess;
// The test's own reads go straight to MariaDB: the proxied pools are the ones under test.
let direct: DatabaseHandle;
let routed: RoutedAccount[];

beforeAll(async () => {
  const url = new URL(env.DATABASE_URL);
  proxy = await startTcpProxy(url.hostname, Number(url.port || 3306));
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  const proxiedUrl = url.toString();

  alpaca = await startFundedAlpaca('r3', STRATEGIES);
  registry = new BrokerRegistry({
    urls: {
      alpacaPaper: alpaca.url,
      alpacaLive: alpaca.url,
      tradovateDemo: alpaca.url,
      tradovateLive: alpaca.url,
      ibkrGateway: alpaca.url,
    },
  });
  app = await startTestApp({ databaseUrl: proxiedUrl, brokers: registry });
  direct = createDatabase({ url: env.DATABASE_URL, poolSize: 2, queueLimit: 50 });
  routed = await routeStrategies(app.url, 'r3', STRATEGIES);
  worker = await startWorkerProcess({
    DATABASE_URL: proxiedUrl,
    ALPACA_PAPER_URL: alpaca.url,
    ALPACA_LIVE_URL: alpaca.url,
    LOG_LEVEL: 'info',
  });
  await worker.ready();
}, 60_000);

afterAll(async () => {
  await proxy?.restore().catch(() => undefined);
  await worker?.kill();
  await app?.close();
  registry?.close();
  await direct?.close();
  await alpaca?.close();
  await proxy?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function alert(strategy: number, key: string, n: number) {
  const body = JSON.stringify({
    ticker: FAULT_SYMBOL,
    action: n % 2 ? 'sell' : 'buy',
    quantity: 1,
    idempotencyKey: key,
  });
  return postAlert(app.url, (routed[strategy] as RoutedAccount).token, body);
}

/** BURST alternating alerts per strategy, all at once; keys `${tag}-${strategy}-${n}`. */
function burst(tag: string): Promise<AlertAnswer[]> {
  const sent: Promise<AlertAnswer>[] = [];
  for (let n = 0; n < BURST; n++) {
    for (let s = 0; s < STRATEGIES; s++) sent.push(alert(s, `${tag}-${s}-${n}`, n));
  }
  return Promise.all(sent);
}

async function readiness(url: string): Promise<{ status: number; failing?: string[] }> {
  const response = await fetch(`${url}/health/ready`);
  const body = (await response.json()) as { failing?: string[] };
  return { status: response.status, failing: body.failing };
}

const apiUrl = () => app.url;
const workerUrl = () => `http://127.0.0.1:${worker.port}`;

describe('R3: MySQL cut for a few seconds while signals execute', () => {
  it('answers 503 while it is away, recovers on its own, and leaves every signal executed once', async () => {
    const before = await burst('r3-before');
    expect(before.map((a) => a.status)).toEqual(before.map(() => 202));

    // At once: the worker is still executing these when the database goes away.
    await proxy.cut();
    const cutAt = Date.now();
    for (const url of [apiUrl(), workerUrl()]) {
      await waitFor(async () => (await readiness(url)).status === 503, 5_000, 50);
      expect(await readiness(url)).toEqual({ status: 503, failing: expect.arrayContaining(['database']) });
    }

    // Alerts in the outage: each answered 503 service-unavailable, quickly (TradingView gives up after 3 s).
    const outage: AlertAnswer[] = [];
    for (let i = 0; i < DURING_OUTAGE; i++) outage.push(await alert(i % STRATEGIES, `r3-outage-${i}`, 0));
    for (const answer of outage) {
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ ok: false, code: 'service-unavailable' });
      expect(answer.elapsedMs).toBeLessThan(3_000);
    }
    // Both processes are alive and still say so.
    expect((await fetch(`${apiUrl()}/health/live`)).status).toBe(200);
    expect(worker.alive()).toBe(true);
    expect((await readiness(apiUrl())).status).toBe(503);
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - cutAt)));

    await proxy.restore();
    // Recovery without any restart: the pools open new connections on their own.
    for (const url of [apiUrl(), workerUrl()]) await waitFor(async () => (await readiness(url)).status === 200, 15_000);
    expect(worker.alive()).toBe(true);

    // Nothing of the refused alerts was written: sent again, the same alerts are accepted, not duplicates.
    const resent: AlertAnswer[] = [];
    for (let i = 0; i < DURING_OUTAGE; i++) resent.push(await alert(i % STRATEGIES, `r3-outage-${i}`, 0));
    expect(resent.map((a) => a.body.status)).toEqual(resent.map(() => 'accepted'));
    const after = await burst('r3-after');
    expect(after.map((a) => a.status)).toEqual(after.map(() => 202));

    const accepted = [...before, ...resent, ...after];
    const ids = accepted.map((a) => Number(a.body.id));
    // Signal jobs that failed in the outage retry at 1, 2, 4, 8 s; the order jobs they started at 2, 4, 8 s.
    const open = await settle(direct.db, ids, 45_000);
    expect(open, `still open:\n${worker.output().slice(-3_000)}`).toBe('');

    // One log per accepted alert, each once, none for the refused sends beyond their accepted retry.
    const rows = await direct.db
      .select({ id: webhookLogs.id, payload: webhookLogs.payload })
      .from(webhookLogs)
      .where(
        inArray(
          webhookLogs.strategyId,
          routed.map((r) => r.strategyId),
        ),
      );
    expect(rows.map((r) => r.id).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    const keys = rows.map((r) => (r.payload as { idempotencyKey?: string } | null)?.idempotencyKey);
    expect(new Set(keys).size).toBe(rows.length);

    // Every signal ran to its end: executed, ignored by the position rules (a sell with nothing long, …), or failed
    // only because a racing opposite signal cancelled its orders before they were sent.
    expect(await unexpectedEndings(direct.db, ids)).toEqual([]);
    const statuses = await logStatusCounts(direct.db, ids);
    expect(statuses.executed ?? 0).toBeGreaterThan(STRATEGIES);

    expect(await bookProblems(direct.db, alpaca, routed)).toEqual([]);
    // Still healthy after the dust settled: the pool holds working connections, not dead ones.
    const [one] = await app.deps.database.db
      .select({ id: webhookLogs.id })
      .from(webhookLogs)
      .where(eq(webhookLogs.id, ids[0] as number));
    expect(one?.id).toBe(ids[0]);
  }, 90_000);
});
