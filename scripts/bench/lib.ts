/**
 * Shared pieces of the benchmarks: child processes on free loopback ports, readiness polling, RSS from /proc, and
 * an autocannon run summarised the way SPEC §12 states budgets (accepted = 2xx per second, p50/p99 in ms).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import autocannon from 'autocannon';

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
