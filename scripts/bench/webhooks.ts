/**
 * B1 (SPEC §12): webhook ingest, 64 connections, 10 s, against the built api (`node dist/api.js`, production
 * settings) on a database and Redis prefix of its own, side by side with the floor (scripts/bench/floor.ts: one
 * INSERT and one BullMQ add per request) measured in the same run. Then checks that every 2xx left one
 * webhook_logs row and one signal job, prints a table, writes bench-results/webhooks.json and cleans up (children
 * stopped, database dropped, Redis keys under its prefix unlinked). Exits 1 on a failed check or a missed budget.
 *
 * Env: DATABASE_URL / REDIS_URL (the servers to use; defaults as the api's), BENCH_DURATION_S (default 10),
 * BENCH_CPU_PROF=<dir> (the api writes a V8 CPU profile there on exit), BENCH_NODE_FLAGS (node flags for the api;
 * default the image's memory flags as in its container, scripts/node-memory.ts; '' for none).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createConnection, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import { projectPath } from '../../server/lib/paths.ts';
import { CONTAINER_NODE_FLAGS } from '../node-memory.ts';
import {
  type Child,
  freePort,
  type LoadResult,
  load,
  rssMb,
  startChild,
  stopChild,
  waitReady,
  writeResults,
} from './lib.ts';

const CONNECTIONS = 64;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const WARMUP_S = 2;
const BUDGET = { acceptedPerS: 7_000, p99Ms: 25, floorRatio: 0.65 };
const DB_NAME = 'fillpath_bench';
const PREFIX = 'fillpath-bench';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const serverUrl = new URL(process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/fillpath');
serverUrl.pathname = '/';
const dbUrl = new URL(serverUrl);
dbUrl.pathname = `/${DB_NAME}`;
// TradersPost-style alert; `[<id>]` is a fresh UUID per request: unique idempotencyKey and bytes, no duplicates.
const ALERT = '{"ticker":"AAPL","action":"buy","sentiment":"long","quantity":"1","idempotencyKey":"[<id>]"}';

const sql = await createConnection({ uri: serverUrl.toString(), timezone: 'Z' });
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
const children: Child[] = [];
const failures: string[] = [];

async function cleanup(): Promise<void> {
  for (const child of children) await stopChild(child);
  await sql.query(`DROP DATABASE IF EXISTS \`${DB_NAME}\``);
  let cursor = '0';
  let unlinked = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) unlinked += await redis.unlink(...keys);
  } while (cursor !== '0');
  console.log(`cleanup: database ${DB_NAME} dropped, ${unlinked} Redis keys under ${PREFIX}: unlinked`);
}

function childEnv(port: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    JWT_SECRET: randomBytes(32).toString('base64url'),
    ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    DATABASE_URL: dbUrl.toString(),
    BENCH_DB_URL: dbUrl.toString(),
    REDIS_URL,
    REDIS_PREFIX: PREFIX,
    BENCH_PREFIX: PREFIX,
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
  };
}

async function runChild(args: string[], port: number, name: string): Promise<void> {
  const child = startChild(args, childEnv(port), name);
  const code = await new Promise<number | null>((resolve) => child.process.once('exit', resolve));
  if (code !== 0) throw new Error(`${name} failed (${code}):\n${child.stderr()}`);
}

/** One user and one strategy, inserted directly: the budgets above the API's limits keep the limiter out of the way. */
async function seed(): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  const tokenHash = createHash('sha256').update(token).digest('hex');
  await sql.query(`USE \`${DB_NAME}\``);
  const [user] = await sql.execute<ResultSetHeader>('INSERT INTO users (email, password_hash, name) VALUES (?, ?, ?)', [
    'bench@example.test',
    'not-a-real-hash',
    'Bench',
  ]);
  await sql.execute(
    `INSERT INTO strategies (user_id, name, webhook_token_hash, webhook_token_enc, max_signal_age_s,
       rate_per_minute, rate_per_hour) VALUES (?, 'Bench', ?, 'bench-not-decrypted', NULL, 100000000, 100000000)`,
    [user.insertId, tokenHash],
  );
  return token;
}

async function maxLogId(): Promise<number> {
  const [rows] = await sql.query<RowDataPacket[]>('SELECT COALESCE(MAX(id), 0) AS id FROM webhook_logs');
  return Number(rows[0]?.id ?? 0);
}

/** Every 2xx of the measured run has one row, `received`, and that row one signal job (`log-<id>`). */
/** In-flight requests of a stopped load (at most one per connection) finish well within this. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1_500));
}

async function checkIntegrity(afterId: number, measured: LoadResult) {
  const [rows] = await sql.query<RowDataPacket[]>('SELECT id, status FROM webhook_logs WHERE id > ?', [afterId]);
  const ids = rows.map((row) => Number(row.id));
  const notReceived = rows.filter((row) => row.status !== 'received').length;
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.exists(`${PREFIX}:{signals}:signals:log-${id}`);
  const exists = (await pipeline.exec()) ?? [];
  const missingJobs = exists.filter(([err, found]) => err !== null || found !== 1).length;
  // On the shared connection: queue.close() leaves a connection it was given open, which kept the script alive.
  const queue = new Queue('signals', { connection: redis, prefix: `${PREFIX}:{signals}` });
  const counts = await queue.getJobCounts();
  await queue.close();
  const jobs = Object.values(counts).reduce((sum, n) => sum + n, 0);
  const [[all]] = await sql.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM webhook_logs');
  const totalRows = Number(all?.n ?? 0);
  // Requests still in flight when autocannon stops are answered to no one: up to one per connection.
  const unanswered = ids.length - measured.ok2xx;
  const check = {
    answered2xx: measured.ok2xx,
    rows: ids.length,
    rowsBeyond2xx: unanswered,
    rowsNotReceived: notReceived,
    rowsWithoutJob: missingJobs,
    jobsInQueue: jobs,
    rowsInDatabase: totalRows,
    non2xx: measured.non2xx,
    errors: measured.errors,
    ok:
      unanswered >= 0 &&
      unanswered <= CONNECTIONS &&
      notReceived === 0 &&
      missingJobs === 0 &&
      jobs === totalRows &&
      measured.non2xx === 0 &&
      measured.errors === 0,
  };
  if (!check.ok) failures.push(`integrity: ${JSON.stringify(check)}`);
  return check;
}

function row(name: string, r: LoadResult, budget: string, ratio: string): string {
  const cells = [name, String(r.acceptedPerS), `${r.p50Ms}`, `${r.p99Ms}`, String(r.non2xx + r.errors), budget, ratio];
  return cells.map((c, i) => (i === 0 ? c.padEnd(26) : c.padStart(i === 5 ? 28 : 9))).join(' ');
}

try {
  const started = performance.now();
  await runChild([projectPath('scripts/build.ts')], 0, 'build');
  await sql.query(`DROP DATABASE IF EXISTS \`${DB_NAME}\``);
  await runChild([projectPath('dist/migrate.js')], 0, 'migrate');
  const token = await seed();

  // The api, as deployed.
  const apiPort = await freePort();
  const cpuProf = process.env.BENCH_CPU_PROF;
  // As in the image's container (scripts/node-memory.ts); BENCH_NODE_FLAGS='' runs without them.
  const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? CONTAINER_NODE_FLAGS.join(' ')).split(' ').filter(Boolean);
  const profile = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [];
  const apiArgs = [...nodeFlags, ...profile, projectPath('dist/api.js')];
  const api = startChild(apiArgs, childEnv(apiPort), 'api');
  children.push(api);
  const readyMs = await waitReady(`http://127.0.0.1:${apiPort}/health/ready`, api);
  const apiIdleRssMb = rssMb(api.process.pid);
  const webhookUrl = `http://127.0.0.1:${apiPort}/api/v1/webhooks/tradingview/${token}`;
  const probe = await fetch(webhookUrl, { method: 'POST', body: ALERT.replace('[<id>]', 'probe') });
  if (probe.status !== 202) throw new Error(`probe alert answered ${probe.status}: ${await probe.text()}`);
  await load(webhookUrl, ALERT, CONNECTIONS, WARMUP_S);
  // autocannon stops sending at the deadline but the api still finishes what is in flight: let it settle before
  // reading where the measured run starts (and, below, before counting rows and jobs).
  await settle();
  const afterId = await maxLogId();
  const apiResult = await load(webhookUrl, ALERT, CONNECTIONS, DURATION_S);
  const apiRssMb = rssMb(api.process.pid);
  await settle();
  const integrity = await checkIntegrity(afterId, apiResult);
  await stopChild(api);

  // The floor, same servers, same client.
  const floorPort = await freePort();
  const floor = startChild([projectPath('scripts/bench/floor.ts')], childEnv(floorPort), 'floor');
  children.push(floor);
  await waitReady(`http://127.0.0.1:${floorPort}/ready`, floor);
  const floorUrl = `http://127.0.0.1:${floorPort}/floor`;
  await load(floorUrl, ALERT, CONNECTIONS, WARMUP_S);
  const floorResult = await load(floorUrl, ALERT, CONNECTIONS, DURATION_S);
  await stopChild(floor);

  const ratio = apiResult.acceptedPerS / Math.max(1, floorResult.acceptedPerS);
  if (apiResult.acceptedPerS < BUDGET.acceptedPerS) failures.push(`B1 accepted/s ${apiResult.acceptedPerS} < 7000`);
  if (apiResult.p99Ms > BUDGET.p99Ms) failures.push(`B1 p99 ${apiResult.p99Ms} ms > 25 ms`);
  if (ratio < BUDGET.floorRatio) failures.push(`B1 ratio to floor ${ratio.toFixed(2)} < 0.65`);

  console.log(`\nB1 webhook ingest: ${CONNECTIONS} connections, ${DURATION_S} s (after ${WARMUP_S} s warm-up)`);
  console.log(
    ['workload'.padEnd(26), ...['req/s 2xx', 'p50 ms', 'p99 ms', 'non-2xx'].map((h) => h.padStart(9))]
      .concat(['budget'.padStart(28), 'x floor'.padStart(9)])
      .join(' '),
  );
  console.log(row('B1 api webhook ingest', apiResult, '>=7000/s p99<=25 >=0.65x', ratio.toFixed(2)));
  console.log(row('floor INSERT + BullMQ add', floorResult, '-', '1.00'));
  console.log(`integrity: ${integrity.ok ? 'OK' : 'FAILED'} ${JSON.stringify(integrity)}`);
  console.log(
    `api: ready in ${Math.round(readyMs)} ms; RSS ${apiIdleRssMb ?? '?'} MB idle, after the run ${apiRssMb ?? '?'} MB (B5 budget 250 MB)`,
  );

  const report = {
    id: 'B1',
    at: new Date().toISOString(),
    connections: CONNECTIONS,
    durationS: DURATION_S,
    budget: BUDGET,
    api: apiResult,
    floor: floorResult,
    ratioToFloor: Number(ratio.toFixed(3)),
    integrity,
    apiRssMb,
    apiReadyMs: Math.round(readyMs),
    failures,
    pass: failures.length === 0,
    wallS: Math.round((performance.now() - started) / 1000),
  };
  writeResults('webhooks', 'B1', report, failures);
} catch (error) {
  failures.push(String(error));
  console.error(error);
} finally {
  await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
  await sql.end();
  redis.disconnect();
  process.exitCode = failures.length === 0 ? 0 : 1;
}
