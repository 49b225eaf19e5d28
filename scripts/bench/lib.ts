/**
 * Shared pieces of the benchmarks: child processes on free loopback ports, readiness polling, RSS from /proc, an
 * autocannon run summarised the way SPEC §12 states budgets (accepted = 2xx per second, p50/p99 in ms), and, for
 * benchmarks that follow each request further (scripts/bench/signal-to-order.ts), posts that keep every answer
 * with its send time, at a fixed rate or as fast as the server answers.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import autocannon from 'autocannon';
import type { Redis } from 'ioredis';
import type { Connection } from 'mysql2/promise';
import { Pool } from 'undici';
import { projectPath } from '../../server/lib/paths.ts';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Child {
  process: ChildProcess;
  /** Everything the child wrote to stderr (shown when it dies or a check fails). */
  stderr(): string;
}

export function startChild(args: string[], env: NodeJS.ProcessEnv, name: string): Child {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  // Production logs at warn go to stdout: keep the tail for diagnosis, never print it unasked.
  child.stdout?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && code !== null && signal === null) console.error(`${name} exited with ${code}:\n${stderr}`);
  });
  return { process: child, stderr: () => stderr };
}

export async function waitReady(url: string, child: Child, timeoutMs = 15_000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (child.process.exitCode !== null) throw new Error(`child exited before ready:\n${child.stderr()}`);
    try {
      const response = await fetch(url);
      if (response.ok) return performance.now() - started;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms:\n${child.stderr()}`);
}

export async function stopChild(child: Child, timeoutMs = 10_000): Promise<void> {
  const proc = child.process;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** Runs a node script to completion (the build, migrations); throws with its output when it fails. */
export async function runToEnd(args: string[], env: NodeJS.ProcessEnv, name: string): Promise<void> {
  const child = startChild(args, env, name);
  const code = await new Promise<number | null>((resolve) => child.process.once('exit', resolve));
  if (code !== 0) throw new Error(`${name} failed (${code}):\n${child.stderr()}`);
}

/** Drops a benchmark's database and unlinks every Redis key under its prefix; returns how many keys went. */
export async function dropBenchState(sql: Connection, redis: Redis, dbName: string, prefix: string): Promise<number> {
  await sql.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
  let cursor = '0';
  let unlinked = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) unlinked += await redis.unlink(...keys);
  } while (cursor !== '0');
  return unlinked;
}

/** Resident set size in MB, from /proc (Linux). */
export function rssMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] ? Math.round(Number(match[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** Resident set size now and its peak over the process's life (VmHWM), in MB. */
export function memoryMb(pid: number | undefined): { rss: number; peak: number } | null {
  if (pid === undefined) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Math.round(Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1]) / 1024);
    return { rss: field('VmRSS'), peak: field('VmHWM') };
  } catch {
    return null;
  }
}

/** CPU time a process has used so far, in user and in kernel (system) mode, in ms, from /proc (Linux, 100 Hz). */
export function cpuMs(pid: number | undefined): { user: number; system: number } | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name in parentheses: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) * 10, system: Number(fields[12]) * 10 };
  } catch {
    return null;
  }
}

/** Wall-clock epoch milliseconds with sub-ms precision; comparable between processes on one machine. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The value below which `p` percent of `sorted` (ascending) lie, nearest rank; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** One answered (or failed) POST: when it left, when it was answered, the status and the `id` of a JSON answer. */
export interface Posted {
  index: number;
  sentAtMs: number;
  answeredAtMs: number;
  status: number;
  id: number | null;
  error: string | null;
}

/** The path and body of the i-th request. */
export type RequestFor = (index: number) => { path: string; body: string };

async function post(pool: Pool, index: number, request: RequestFor): Promise<Posted> {
  const { path, body } = request(index);
  const sentAtMs = epochMs();
  try {
    const response = await pool.request({
      path,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const text = await response.body.text();
    const answeredAtMs = epochMs();
    let id: number | null = null;
    try {
      const parsed = JSON.parse(text) as { id?: unknown };
      id = typeof parsed.id === 'number' ? parsed.id : null;
    } catch {
      // not JSON: the status says enough
    }
    return { index, sentAtMs, answeredAtMs, status: response.statusCode, id, error: null };
  } catch (error) {
    return { index, sentAtMs, answeredAtMs: epochMs(), status: 0, id: null, error: String(error) };
  }
}

/**
 * Open loop: `rate` requests per second for `durationS`, each sent on schedule whether or not earlier ones were
 * answered (a slow server does not slow the sender down, so its latency is not hidden).
 */
export async function postAtRate(
  origin: string,
  rate: number,
  durationS: number,
  request: RequestFor,
  connections = 64,
): Promise<Posted[]> {
  const pool = new Pool(origin, { connections });
  const total = Math.round(rate * durationS);
  const pending: Promise<Posted>[] = [];
  const started = performance.now();
  while (pending.length < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    while (pending.length < due) pending.push(post(pool, pending.length, request));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const posted = await Promise.all(pending);
  await pool.close();
  return posted;
}

/** Closed loop: `count` requests over `connections` connections, each sending its next as soon as one is answered. */
export async function postAll(
  origin: string,
  count: number,
  connections: number,
  request: RequestFor,
): Promise<Posted[]> {
  const pool = new Pool(origin, { connections });
  const posted: Posted[] = [];
  let next = 0;
  const loop = async () => {
    while (next < count) {
      const index = next++;
      posted[index] = await post(pool, index, request);
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  await pool.close();
  return posted;
}

/** Key ids of the fake Alpaca accounts scripts/bench/fake-alpaca.ts creates, one per benchmark connection. */
export function fakeAlpacaKeyId(index: number): string {
  return `PKBENCH${String(index).padStart(13, '0')}`;
}
export const FAKE_ALPACA_SECRET = 'bench-secret';

export interface LoadResult {
  requests: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationS: number;
  acceptedPerS: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * POSTs `body` from `connections` connections for `durationS`; every `[<id>]` in the body becomes a fresh UUID per
 * request, so no two alerts share an idempotencyKey or bytes.
 */
export async function load(url: string, body: string, connections: number, durationS: number): Promise<LoadResult> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    // autocannon's own idReplacement sent nothing at all here (autocannon 8, Node 24): build each body instead.
    requests: [{ setupRequest: (request) => ({ ...request, body: body.replaceAll('[<id>]', randomUUID()) }) }],
    connections,
    duration: durationS,
    timeout: 10,
  });
  const ok2xx = result['2xx'];
  return {
    requests: result.requests.total,
    ok2xx,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationS: result.duration,
    acceptedPerS: Math.round(ok2xx / result.duration),
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
  };
}

/**
 * Writes a benchmark's results to bench-results/<name>.json (what summary.ts reads) and prints its verdict line:
 * `<label>: PASS`, or `<label>: FAIL` with one line per failure.
 */
export function writeResults(name: string, label: string, results: object, failures: readonly string[]): void {
  mkdirSync(projectPath('bench-results'), { recursive: true });
  writeFileSync(projectPath(`bench-results/${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
  console.log(failures.length === 0 ? `${label}: PASS` : `${label}: FAIL\n  ${failures.join('\n  ')}`);
  console.log(`written: bench-results/${name}.json`);
}
