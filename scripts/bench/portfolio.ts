/**
 * B3 (SPEC §12): portfolio.getOverview over 1,000,000 trades, 1,000 strategies and 100 traders, uncached and
 * cached, side by side with floors measured in the same run.
 *
 * Data: `node scripts/seed.ts --scale` into a database of its own (fillpath_bench_portfolio) with a fixed seed and
 * end date. Building it takes a minute or more, so the database is KEPT after the run and the next run reuses it
 * when the seed finds it complete (BENCH_FRESH=1 rebuilds it, BENCH_DROP=1 drops it at the end); the Redis keys
 * under the bench's prefix are always removed.
 *
 * The api is server/api.ts with the rate limits lifted (scripts/bench/portfolio-api.ts; the deployed budgets allow
 * 300 reads a minute per trader), production settings, its own Redis prefix. The bench signs every trader in, then:
 * - integrity: each trader's overview over HTTP; their trade counts, open positions and realized P&L must add up
 *   to what SQL counts in the trades table;
 * - uncached: every call preceded by a bump of the trader's cache generation (what a fill does: cache.ts), so it
 *   computes; one warm-up pass over the traders, then BENCH_ROUNDS timed passes, one call at a time;
 * - cached: each trader's answer cached, then BENCH_CONNECTIONS connections (autocannon) cycling through the 100
 *   traders' tokens for BENCH_DURATION_S after a 2 s warm-up;
 * - floors: GET /health/live under the same load (the api's trivial route), and the overview's own SQL statements
 *   run with mysql2 (scripts/bench/portfolio-floor.ts), next to the service timed in-process without HTTP or cache.
 * Prints a table, writes bench-results/portfolio.json, exits 1 on a failed check or a missed budget.
 *
 * Env: DATABASE_URL / REDIS_URL (servers), BENCH_DURATION_S (10), BENCH_CONNECTIONS (32: at 5,000 req/s that
 * many requests in flight already wait 6.4 ms on average, so more would measure queueing, not the api),
 * BENCH_ROUNDS (3), BENCH_FRESH, BENCH_DROP, BENCH_TRADES (1000000: a smaller set for a quick try; B3's budgets are
 * for the full one).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import Big from 'big.js';
import { Redis } from 'ioredis';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { Pool } from 'undici';
import { projectPath } from '../../server/lib/paths.ts';
import { type Child, freePort, startChild, stopChild, waitReady, writeResults } from './lib.ts';
import type { FloorResult, Latency } from './portfolio-floor.ts';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP_S = 2;
const BUDGET = { uncachedP95Ms: 50, cachedPerS: 5_000, cachedP99Ms: 10 };
const DB_NAME = 'fillpath_bench_portfolio';
const PREFIX = 'fillpath-bench-portfolio';
// Fixed, so a kept database is the same data set on every run (seed.ts reuses it only when these match).
const SEED_ARGS = ['--scale', '--seed', '1', '--end', '2025-12-31', '--trades', process.env.BENCH_TRADES ?? '1000000'];
const SCALE_PASSWORD = 'scale-trader-password';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const serverUrl = new URL(process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/fillpath');
serverUrl.pathname = '/';
const dbUrl = new URL(serverUrl);
dbUrl.pathname = `/${DB_NAME}`;
const SECRETS = {
  JWT_SECRET: randomBytes(32).toString('base64url'),
  // Stable across runs: the kept data set's sealed credentials and webhook tokens stay readable by the next run.
  ENCRYPTION_KEYS: `bench:${createHash('sha256').update('fillpath-bench-portfolio').digest('base64')}`,
};
const OVERVIEW_PATH = `/api/v1/trpc/portfolio.getOverview?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`;

const sql = await createConnection({ uri: serverUrl.toString(), timezone: 'Z' });
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
const children: Child[] = [];
const failures: string[] = [];

function benchEnv(port: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    ...SECRETS,
    DATABASE_URL: dbUrl.toString(),
    REDIS_URL,
    REDIS_PREFIX: PREFIX,
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    // BENCH_CPU_PROF=<dir>: the api (and the seed) write V8 CPU profiles there on exit, as in the other benches.
    ...(process.env.BENCH_CPU_PROF ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_CPU_PROF}` } : {}),
  };
}

/** The seed with its progress on this terminal; it reuses a complete data set. */
async function seedScale(): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [projectPath('scripts/seed.ts'), ...SEED_ARGS], {
    env: benchEnv(0),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`seed.ts --scale failed (exit ${code})`);
  return (performance.now() - started) / 1000;
}

interface Trader {
  userId: number;
  token: string;
}

async function trpcJson(response: { statusCode: number; body: { text(): Promise<string> } }, what: string) {
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`${what} answered ${response.statusCode}: ${text.slice(0, 500)}`);
  return (JSON.parse(text) as { result: { data: { json: Record<string, unknown> } } }).result.data.json;
}

async function signIn(http: Pool, emails: string[]): Promise<string[]> {
  const tokens: string[] = new Array(emails.length);
  let next = 0;
  // argon2 verifications run four at a time in the api.
  const worker = async () => {
    while (next < emails.length) {
      const index = next++;
      const response = await http.request({
        path: '/api/v1/trpc/auth.login',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ json: { email: emails[index], password: SCALE_PASSWORD } }),
      });
      tokens[index] = String((await trpcJson(response, `login of ${emails[index]}`)).accessToken);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return tokens;
}

async function overview(http: Pool, token: string): Promise<Record<string, unknown>> {
  const response = await http.request({
    path: OVERVIEW_PATH,
    method: 'GET',
    headers: { authorization: `Bearer ${token}` },
  });
  return trpcJson(response, 'portfolio.getOverview');
}

/** Every trader's overview over HTTP adds up to what SQL counts directly. */
async function checkIntegrity(http: Pool, traders: Trader[]) {
  let trades = 0;
  let open = 0;
  let realized = new Big(0);
  for (const trader of traders) {
    const answer = await overview(http, trader.token);
    trades += Number(answer.tradeCount);
    open += Number(answer.openPositionCount);
    realized = realized.plus(String(answer.realizedPnl));
  }
  const ids = traders.map((trader) => trader.userId);
  const [[expected]] = await sql.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS trades, COALESCE(SUM(pnl), 0) AS realized FROM \`${DB_NAME}\`.trades
      WHERE user_id IN (?) AND status = 'closed' AND deleted_at IS NULL`,
    [ids],
  );
  const [[positions]] = await sql.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n FROM \`${DB_NAME}\`.trades WHERE user_id IN (?) AND status = 'open' AND deleted_at IS NULL`,
    [ids],
  );
  const check = {
    trades,
    expectedTrades: Number(expected?.trades),
    openPositions: open,
    expectedOpenPositions: Number(positions?.n),
    realized: realized.toString(),
    expectedRealized: new Big(String(expected?.realized ?? 0)).toString(),
    ok: false,
  };
  check.ok =
    check.trades === check.expectedTrades &&
    check.openPositions === check.expectedOpenPositions &&
    check.realized === check.expectedRealized;
  if (!check.ok) failures.push(`integrity: ${JSON.stringify(check)}`);
  return check;
}

/** One call at a time, each right after the trader's cache generation moved on, so each one computes. */
async function measureUncached(http: Pool, traders: Trader[], bump: (userId: number) => Promise<void>) {
  const samples: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    for (const trader of traders) {
      await bump(trader.userId);
      const started = performance.now();
      await overview(http, trader.token);
      if (round > 0) samples.push(performance.now() - started);
    }
  }
  return samples;
}

interface LoadResult {
  requests: number;
  non2xx: number;
  errors: number;
  perS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** GETs `path` from CONNECTIONS connections for `durationS`, each request with the next trader's token. */
async function getLoad(origin: string, path: string, tokens: string[], durationS: number): Promise<LoadResult> {
  let next = 0;
  const result = await autocannon({
    url: `${origin}${path}`,
    method: 'GET',
    connections: CONNECTIONS,
    duration: durationS,
    timeout: 10,
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, authorization: `Bearer ${tokens[next++ % tokens.length]}` },
        }),
      },
    ],
  });
  return {
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    perS: Math.round(result['2xx'] / result.duration),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
  };
}

async function cleanup(): Promise<void> {
  for (const child of children) await stopChild(child);
  let cursor = '0';
  let unlinked = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) unlinked += await redis.unlink(...keys);
  } while (cursor !== '0');
  if (process.env.BENCH_DROP === '1') {
    await sql.query(`DROP DATABASE IF EXISTS \`${DB_NAME}\``);
    console.log(`cleanup: database ${DB_NAME} dropped, ${unlinked} Redis keys under ${PREFIX}: unlinked`);
  } else {
    console.log(
      `cleanup: ${unlinked} Redis keys under ${PREFIX}: unlinked; database ${DB_NAME} kept for the next run ` +
        '(BENCH_DROP=1 drops it)',
    );
  }
}

const cell = (value: number | string, width = 9) => String(value).padStart(width);

function printTable(rows: string[][]): void {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  for (const row of rows)
    console.log(row.map((text, i) => (i === 0 ? text.padEnd(widths[i] ?? 0) : cell(text, widths[i]))).join('  '));
}

try {
  const started = performance.now();
  if (process.env.BENCH_FRESH === '1') await sql.query(`DROP DATABASE IF EXISTS \`${DB_NAME}\``);
  const seedS = await seedScale();
  const [traderRows] = await sql.query<RowDataPacket[]>(
    `SELECT id, email FROM \`${DB_NAME}\`.users WHERE email LIKE 'scale-trader-%' ORDER BY id`,
  );

  const port = await freePort();
  const api = startChild([projectPath('scripts/bench/portfolio-api.ts')], benchEnv(port), 'api');
  children.push(api);
  await waitReady(`http://127.0.0.1:${port}/health/ready`, api, 60_000);
  const origin = `http://127.0.0.1:${port}`;
  const http = new Pool(origin, { connections: 4 });
  const tokens = await signIn(
    http,
    traderRows.map((row) => String(row.email)),
  );
  const traders = traderRows.map((row, i) => ({ userId: Number(row.id), token: tokens[i] ?? '' }));

  // The service modules read the bench's settings at load (env.ts): set them first. Errors only: the pool's
  // slow-query warnings would report the bench's own maintenance statements.
  Object.assign(process.env, benchEnv(port), { LOG_LEVEL: 'error' });
  const { bumpGeneration } = await import('../../server/services/portfolio/cache.ts');
  const { measureFloor, summarize } = await import('./portfolio-floor.ts');

  const integrity = await checkIntegrity(http, traders);
  const uncached: Latency = summarize(await measureUncached(http, traders, (userId) => bumpGeneration(redis, userId)));

  // Every trader's answer cached; one call at a time first (the latency without load), then the load.
  for (const trader of traders) await overview(http, trader.token);
  const cachedAlone: number[] = [];
  for (const trader of traders) {
    const callStarted = performance.now();
    await overview(http, trader.token);
    cachedAlone.push(performance.now() - callStarted);
  }
  const cachedOneAtATime = summarize(cachedAlone);
  await getLoad(origin, OVERVIEW_PATH, tokens, WARMUP_S);
  const cached = await getLoad(origin, OVERVIEW_PATH, tokens, DURATION_S);
  await getLoad(origin, '/health/live', tokens, WARMUP_S);
  const live = await getLoad(origin, '/health/live', tokens, DURATION_S);
  await http.close();
  await stopChild(api);

  const floor: FloorResult = await measureFloor(
    dbUrl.toString(),
    redis,
    traders.map((trader) => trader.userId),
    ROUNDS,
  );

  if (uncached.p95Ms > BUDGET.uncachedP95Ms) failures.push(`B3 uncached p95 ${uncached.p95Ms} ms > 50 ms`);
  if (cached.perS < BUDGET.cachedPerS) failures.push(`B3 cached ${cached.perS} req/s < 5000`);
  if (cached.p99Ms > BUDGET.cachedP99Ms) failures.push(`B3 cached p99 ${cached.p99Ms} ms > 10 ms`);
  if (cached.non2xx + cached.errors > 0) failures.push(`B3 cached: ${cached.non2xx} non-2xx, ${cached.errors} errors`);

  console.log(
    `\nB3 portfolio.getOverview: ${traders.length} traders, ${integrity.expectedTrades.toLocaleString('en-US')} closed ` +
      `trades, ${integrity.expectedOpenPositions} open; uncached ${ROUNDS} x ${traders.length} calls one at a time; ` +
      `cached ${CONNECTIONS} connections, ${DURATION_S} s`,
  );
  const one = (name: string, l: Latency, budget = '-') => [name, '-', l.p50Ms, l.p95Ms, l.p99Ms, budget].map(String);
  const load = (name: string, r: LoadResult, budget = '-') => [name, r.perS, r.p50Ms, '-', r.p99Ms, budget].map(String);
  printTable([
    ['workload', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'budget'],
    one('B3 uncached (HTTP, cache bypassed)', uncached, 'p95<=50'),
    one('  floor: the service in-process, no HTTP', floor.service),
    one(`  floor: its ${floor.statementsPerOverview} SQL statements, mysql2`, floor.sql),
    load('B3 cached (HTTP)', cached, '>=5000/s p99<=10'),
    one('  the same, one call at a time', cachedOneAtATime),
    load('  floor: GET /health/live', live),
  ]);
  console.log('database time by statement (each alone, p50 / p95 ms):');
  for (const statement of floor.byStatement)
    console.log(`  ${cell(statement.p50Ms, 7)} ${cell(statement.p95Ms, 7)}  ${statement.statement}…`);
  console.log(`integrity: ${integrity.ok ? 'OK' : 'FAILED'} ${JSON.stringify(integrity)}`);

  const report = {
    id: 'B3',
    at: new Date().toISOString(),
    traders: traders.length,
    connections: CONNECTIONS,
    durationS: DURATION_S,
    rounds: ROUNDS,
    budget: BUDGET,
    uncached,
    cached,
    cachedOneAtATime,
    floor: { ...floor, healthLive: live },
    integrity,
    seedS: Math.round(seedS),
    failures,
    pass: failures.length === 0,
    wallS: Math.round((performance.now() - started) / 1000),
  };
  writeResults('portfolio', 'B3', report, failures);
} catch (error) {
  failures.push(String(error));
  console.error(error);
} finally {
  await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
  await sql.end();
  redis.disconnect();
  process.exitCode = failures.length === 0 ? 0 : 1;
}
