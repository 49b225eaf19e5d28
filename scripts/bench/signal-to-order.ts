/**
 * B2, B4 and B5 (SPEC §12) against the built api and worker (`node dist/api.js`, `node dist/worker.js`, production
 * settings) on a database and Redis prefix of their own, with the fake Alpaca as a third process
 * (scripts/bench/fake-alpaca.ts), side by side with a floor measured in the same run (scripts/bench/signal-floor.ts:
 * one INSERT and one BullMQ add per alert, and a worker making one HTTP call to the fake per job).
 *
 * B2: buy alerts at 500/s (open loop) for BENCH_DURATION_S after a 2 s warm-up; latency = the fake's receive time of
 *     the order − the moment the bench sent the alert (matched by log id → order → `fp-<order id>`). Before it, 3 s
 *     at 20/s show one signal's latency without queueing, and each run is split into stages (where the time goes).
 * B4: BENCH_B4_SIGNALS alerts sent as fast as the api answers (64 connections); throughput = trade rows / (last
 *     trade row − first send). Every alert buys a ticker of its own, so each goes webhook → order → fill →
 *     position → trade.
 * B5: RSS of the api and worker after B4.
 * Then checks every 202 has exactly one order at the fake and no client order id appears twice, prints a table,
 * writes bench-results/signal-to-order.json and cleans up (children stopped, database dropped, Redis keys under its
 * prefix unlinked). Exits 1 on a failed check or a missed budget, like scripts/bench/webhooks.ts.
 *
 * Every alert goes to one of many strategies, each routed to a connection (and fake account) of its own: the worker
 * paces each Alpaca connection to 200 calls a minute (server/brokers/pacing.ts), two calls per signal, so no
 * connection gets more than SIGNALS_PER_CONNECTION signals and the pacing never shows up in the numbers.
 *
 * Env: DATABASE_URL / REDIS_URL (servers to use), BENCH_DURATION_S (default 10), BENCH_B4_SIGNALS (default
 * 15000), BENCH_CPU_PROF=<dir> (api and worker write V8 CPU profiles there on exit), BENCH_NODE_FLAGS (node
 * flags for api and worker; default the image's memory flags as in its container, scripts/node-memory.ts), BENCH_CHILD_ENV="KEY=value …" (extra settings for api and worker, e.g. DB_POOL_SIZE),
 * BENCH_STRATEGIES_PER_USER (default 1).
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { projectPath } from '../../server/lib/paths.ts';
import { CONTAINER_NODE_FLAGS } from '../node-memory.ts';
import {
  type Child,
  cpuMs,
  dropBenchState,
  epochMs,
  FAKE_ALPACA_SECRET,
  fakeAlpacaKeyId,
  freePort,
  memoryMb,
  postAll,
  postAtRate,
  runToEnd,
  startChild,
  stopChild,
  waitReady,
} from './lib.ts';
import { type CpuPerSignal, report, type Settings } from './signal-report.ts';
import { type BenchRoute, buyAlerts, type Seal, seedRoutes } from './signal-seed.ts';
import { fakeOrders, traceFloor, traceSignals } from './signal-trace.ts';

const RATE = 500;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const WARMUP_S = 2;
// Before the warm-up, a rate the engine keeps up with: the latency of one signal without queueing, for reference.
const LOW_RATE = 20;
const LOW_S = 3;
const B4_SIGNALS = Number(process.env.BENCH_B4_SIGNALS ?? 15_000);
const CONNECTIONS = 64;
/**
 * Traders own this many strategies each (default 1: the load of many traders). The signal engine locks the
 * strategy's user row with the strategy (execute-signal.ts lockStrategy), so one trader's signals run one at a
 * time; BENCH_STRATEGIES_PER_USER=100000 puts every strategy under one trader to see that.
 */
const STRATEGIES_PER_USER = Number(process.env.BENCH_STRATEGIES_PER_USER ?? 1);
const SIGNALS_PER_CONNECTION = 60;
// A phase is over when every log has settled, or when none has for this long (then the rest count as unsettled).
const STALL_MS = 30_000;
const BUDGET = { b2P50Ms: 15, b2P99Ms: 60, b4PerS: 1_500, rssMb: 250 };
const DB_NAME = 'fillpath_bench_signals';
const PREFIX = 'fillpath-bench-signals';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const serverUrl = new URL(process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/fillpath');
serverUrl.pathname = '/';
const dbUrl = new URL(serverUrl);
dbUrl.pathname = `/${DB_NAME}`;
// Extra settings for the api and worker, e.g. BENCH_CHILD_ENV="DB_POOL_SIZE=30" to compare (default: none).
const CHILD_ENV = Object.fromEntries(
  (process.env.BENCH_CHILD_ENV ?? '')
    .split(' ')
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);
const SECRETS = {
  JWT_SECRET: randomBytes(32).toString('base64url'),
  ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}`,
};

const sql = await createConnection({ uri: serverUrl.toString(), timezone: 'Z' });
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
const children: Child[] = [];
const failures: string[] = [];

function childEnv(port: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    ...SECRETS,
    DATABASE_URL: dbUrl.toString(),
    BENCH_DB_URL: dbUrl.toString(),
    REDIS_URL,
    REDIS_PREFIX: PREFIX,
    BENCH_PREFIX: PREFIX,
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    ...extra,
  };
}

function start(args: string[], env: NodeJS.ProcessEnv, name: string): Child {
  const child = startChild(args, env, name);
  children.push(child);
  return child;
}

/** The api's own sealCredentials, loaded once this process has the children's keys (env.ts reads them at import). */
async function loadSeal(): Promise<Seal> {
  Object.assign(process.env, { NODE_ENV: 'production', ...SECRETS, DATABASE_URL: dbUrl.toString(), REDIS_URL });
  const { sealCredentials } = await import('../../server/services/brokers/connections/credentials.ts');
  return sealCredentials;
}

async function maxId(table: string): Promise<number> {
  const [rows] = await sql.query<RowDataPacket[]>(`SELECT COALESCE(MAX(id), 0) AS id FROM ${table}`);
  return Number(rows[0]?.id ?? 0);
}

/**
 * Waits until no log after `afterLogId` is still `received` or `executing` (its orders filled or ended); gives up
 * when that count has not gone down for STALL_MS. Returns how many are still open.
 */
async function settle(afterLogId: number): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  let progressAt = performance.now();
  for (;;) {
    const [[row]] = await sql.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM webhook_logs WHERE id > ? AND status IN ('received', 'executing')`,
      [afterLogId],
    );
    const open = Number(row?.n ?? 0);
    if (open < best) {
      best = open;
      progressAt = performance.now();
    }
    if (open === 0 || performance.now() - progressAt > STALL_MS) return open;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the floor's queue has no job left to run, or none has finished for STALL_MS. */
async function drainFloor(): Promise<void> {
  const queue = new Queue('signal-floor', { connection: redis, prefix: `${PREFIX}:{signal-floor}` });
  let best = Number.POSITIVE_INFINITY;
  let progressAt = performance.now();
  try {
    for (;;) {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
      const left = Object.values(counts).reduce((sum, n) => sum + n, 0);
      if (left < best) {
        best = left;
        progressAt = performance.now();
      }
      if (left === 0 || performance.now() - progressAt > STALL_MS) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await queue.close();
  }
}

function checkIntegrity(name: string, integrity: { ok: boolean }): void {
  if (!integrity.ok) failures.push(`${name} integrity: ${JSON.stringify(integrity)}`);
}

/** Signals reaching a trade row per second, counted every 250 ms while B4 runs (for the steady rate). */
function sampleTrades(afterTradeId: number): { stop(): Promise<{ atMs: number; trades: number }[]> } {
  const samples: { atMs: number; trades: number }[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const [[row]] = await sql.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM trades WHERE id > ?', [afterTradeId]);
      samples.push({ atMs: epochMs(), trades: Number(row?.n ?? 0) });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

try {
  const started = performance.now();
  await runToEnd([projectPath('scripts/build.ts')], childEnv(0), 'build');
  await sql.query(`DROP DATABASE IF EXISTS \`${DB_NAME}\``);
  await runToEnd([projectPath('dist/migrate.js')], childEnv(0), 'migrate');
  await sql.query(`USE \`${DB_NAME}\``);

  // Routes: B2 (probe, low rate, warm-up, run) and B4 on connections of their own; one more account for the floor.
  const b2Signals = 1 + LOW_RATE * LOW_S + RATE * (WARMUP_S + DURATION_S);
  const routes = {
    b2: Math.ceil(b2Signals / SIGNALS_PER_CONNECTION),
    b4: Math.ceil(B4_SIGNALS / SIGNALS_PER_CONNECTION),
  };
  const floorAccount = routes.b2 + routes.b4;
  const fakePort = await freePort();
  const fakeUrl = `http://127.0.0.1:${fakePort}`;
  const fakeEnv = childEnv(fakePort, { BENCH_FAKE_ACCOUNTS: String(floorAccount + 1) });
  const fake = start([projectPath('scripts/bench/fake-alpaca.ts')], fakeEnv, 'fake-alpaca');
  await waitReady(`${fakeUrl}/__fake/config`, fake);
  const resetFake = () => fetch(`${fakeUrl}/__fake/reset`, { method: 'POST' }).then((r) => r.text());

  const seal = await loadSeal();
  const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
  const routesB2: BenchRoute[] = await seedRoutes(sql, seal, 'B2', range(0, routes.b2), STRATEGIES_PER_USER);
  const routesB4: BenchRoute[] = await seedRoutes(sql, seal, 'B4', range(routes.b2, routes.b4), STRATEGIES_PER_USER);

  // The api and the worker, as deployed, pointed at the fake.
  const apiPort = await freePort();
  const workerPort = await freePort();
  const cpuProf = process.env.BENCH_CPU_PROF;
  // As in the image's container (scripts/node-memory.ts); BENCH_NODE_FLAGS='' runs without them.
  const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? CONTAINER_NODE_FLAGS.join(' ')).split(' ').filter(Boolean);
  const profile = (name: string) =>
    cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [];
  const env = childEnv(apiPort, {
    ALPACA_PAPER_URL: fakeUrl,
    ALPACA_LIVE_URL: fakeUrl,
    WORKER_PORT: String(workerPort),
    ...CHILD_ENV,
  });
  const api = start([...nodeFlags, ...profile('api'), projectPath('dist/api.js')], env, 'api');
  const worker = start([...nodeFlags, ...profile('worker'), projectPath('dist/worker.js')], env, 'worker');
  await waitReady(`http://127.0.0.1:${apiPort}/health/ready`, api);
  await waitReady(`http://127.0.0.1:${workerPort}/health/ready`, worker);
  const memory = () => ({ api: memoryMb(api.process.pid), worker: memoryMb(worker.process.pid) });
  const cpu = () => ({ api: cpuMs(api.process.pid), worker: cpuMs(worker.process.pid) });
  const cpuPerSignal = (before: ReturnType<typeof cpu>, signals: number): CpuPerSignal => {
    const after = cpu();
    const per = (a: ReturnType<typeof cpuMs>, b: ReturnType<typeof cpuMs>) => {
      if (a === null || b === null || signals === 0) return null;
      const ms = (value: number) => Math.round((value / signals) * 100) / 100;
      return { user: ms(a.user - b.user), system: ms(a.system - b.system) };
    };
    return { api: per(after.api, before.api), worker: per(after.worker, before.worker) };
  };
  const ready = memory();
  const apiOrigin = `http://127.0.0.1:${apiPort}`;

  // Probe: one alert all the way to a filled order, so a broken setup fails here with a reason.
  const probeFrom = await maxId('webhook_logs');
  const [probe] = await postAll(apiOrigin, 1, 1, buyAlerts(routesB2, 'BP'));
  if (probe?.status !== 202) throw new Error(`probe alert answered ${probe?.status}: ${probe?.error ?? ''}`);
  await settle(probeFrom);
  const [[probeLog]] = await sql.query<RowDataPacket[]>('SELECT status, error_message FROM webhook_logs WHERE id = ?', [
    probe.id,
  ]);
  if (probeLog?.status !== 'executed') {
    throw new Error(`probe alert ended ${JSON.stringify(probeLog)}:\n${worker.stderr()}`);
  }

  // B2: a low rate first (latency without queueing, for reference), a warm-up, then the measured run at 500/s.
  const lowFrom = await maxId('webhook_logs');
  const lowPosted = await postAtRate(apiOrigin, LOW_RATE, LOW_S, buyAlerts(routesB2, 'BL'));
  await settle(lowFrom);
  const low = { posted: lowPosted, trace: await traceSignals(sql, lowPosted, await fakeOrders(fakeUrl), lowFrom) };
  checkIntegrity('B2 low rate', low.trace.integrity);
  const warmFrom = await maxId('webhook_logs');
  await postAtRate(apiOrigin, RATE, WARMUP_S, buyAlerts(routesB2, 'BW'));
  await settle(warmFrom);
  const b2From = await maxId('webhook_logs');
  const b2Cpu = cpu();
  const b2Posted = await postAtRate(apiOrigin, RATE, DURATION_S, buyAlerts(routesB2, 'BM'));
  const b2Unsettled = await settle(b2From);
  const b2Trace = await traceSignals(sql, b2Posted, await fakeOrders(fakeUrl), b2From);
  const b2 = {
    posted: b2Posted,
    unsettled: b2Unsettled,
    trace: b2Trace,
    cpu: cpuPerSignal(b2Cpu, b2Trace.integrity.accepted),
  };
  checkIntegrity('B2', b2.trace.integrity);
  const afterB2 = memory();
  await resetFake();

  // B4: every alert as fast as the api answers; throughput counted at the trade rows.
  const b4From = await maxId('webhook_logs');
  const sampler = sampleTrades(await maxId('trades'));
  const b4Cpu = cpu();
  const b4Posted = await postAll(apiOrigin, B4_SIGNALS, CONNECTIONS, buyAlerts(routesB4, 'BT'));
  const b4Unsettled = await settle(b4From);
  const samples = await sampler.stop();
  const b4Trace = await traceSignals(sql, b4Posted, await fakeOrders(fakeUrl), b4From);
  const b4CpuPerSignal = cpuPerSignal(b4Cpu, b4Trace.integrity.accepted);
  checkIntegrity('B4', b4Trace.integrity);
  const afterB4 = memory();
  await stopChild(worker);
  await stopChild(api);
  await resetFake();

  // The floors: same servers, same fake, same client, same alert bodies.
  const floorPort = await freePort();
  const floorEnv = childEnv(floorPort, {
    BENCH_BROKER_URL: fakeUrl,
    BENCH_KEY_ID: fakeAlpacaKeyId(floorAccount),
    BENCH_SECRET: FAKE_ALPACA_SECRET,
  });
  const floor = start([projectPath('scripts/bench/signal-floor.ts')], floorEnv, 'signal-floor');
  await waitReady(`http://127.0.0.1:${floorPort}/ready`, floor);
  const floorOrigin = `http://127.0.0.1:${floorPort}`;
  const floorAlert = buyAlerts(routesB2, 'BF');
  const toFloor = (index: number) => ({ ...floorAlert(index), path: '/floor' });
  await postAtRate(floorOrigin, RATE, WARMUP_S, toFloor);
  await drainFloor();
  const b2FloorPosted = await postAtRate(floorOrigin, RATE, DURATION_S, toFloor);
  await drainFloor();
  const b2Floor = traceFloor(b2FloorPosted, await fakeOrders(fakeUrl));
  checkIntegrity('B2 floor', b2Floor.integrity);
  await resetFake();
  const b4FloorPosted = await postAll(floorOrigin, B4_SIGNALS, CONNECTIONS, toFloor);
  await drainFloor();
  const b4Floor = { ...traceFloor(b4FloorPosted, await fakeOrders(fakeUrl)), posted: b4FloorPosted };
  checkIntegrity('B4 floor', b4Floor.integrity);
  await stopChild(floor);
  await stopChild(fake);

  const b4 = { posted: b4Posted, trace: b4Trace, unsettled: b4Unsettled, cpu: b4CpuPerSignal, samples };
  const results = { routes, low, b2, b2Floor, b4, b4Floor, memory: { ready, afterB2, afterB4 } };
  const settings: Settings = {
    rate: RATE,
    durationS: DURATION_S,
    lowRate: LOW_RATE,
    lowS: LOW_S,
    b4Signals: B4_SIGNALS,
    strategiesPerUser: STRATEGIES_PER_USER,
    childEnv: CHILD_ENV,
    budget: BUDGET,
  };
  report(results, settings, failures, Math.round((performance.now() - started) / 1000));
} catch (error) {
  failures.push(String(error));
  console.error(error);
} finally {
  for (const child of children) await stopChild(child).catch(() => undefined);
  await dropBenchState(sql, redis, DB_NAME, PREFIX)
    .then((unlinked) => console.log(`cleanup: database ${DB_NAME} dropped, ${unlinked} Redis keys under ${PREFIX}:`))
    .catch((error: unknown) => console.error('cleanup failed:', error));
  await sql.end();
  redis.disconnect();
  process.exitCode = failures.length === 0 ? 0 : 1;
}
