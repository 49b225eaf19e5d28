/**
 * The worker as a real child process (`node server/worker.ts`, from sources), for fault tests that kill it: it runs
 * against this test file's database and Redis prefix (inherited from tests/setup/per-file.ts through process.env),
 * with whatever else the test passes (broker URLs of in-process fakes, …). Every child still running when the test
 * process exits is SIGKILLed, so a failed test never leaves a worker consuming the next file's jobs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './app.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OUTPUT_KEPT = 20_000;

export interface WorkerProcess {
  child: ChildProcess;
  port: number;
  /** Resolves once /health/ready answers 200 (MySQL, Redis and migrations checked by the worker itself). */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGKILL: no shutdown hook runs, active jobs are left locked in Redis until their lock expires. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit code (graceful drain). */
  stop(): Promise<number | null>;
  /** False once the process has exited, whatever the cause. */
  alive(): boolean;
  /** The tail of stdout and stderr (the logs themselves go to LOG_FILE when the environment sets one). */
  output(): string;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise((done) => server.close(done));
  if (!address || typeof address !== 'object') throw new Error('no free port');
  return address.port;
}

export async function startWorkerProcess(env: Record<string, string> = {}): Promise<WorkerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['server/worker.ts'], {
    cwd: ROOT,
    env: { ...process.env, LOG_PRETTY: 'false', ...env, WORKER_PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let output = '';
  const exited = once(child, 'exit').then(
    ([code]) => code as number | null,
    (error: unknown) => {
      output += `\ncould not start the worker: ${error instanceof Error ? error.message : String(error)}`;
      return null;
    },
  );
  void exited.finally(() => live.delete(child));
  const alive = () => child.exitCode === null && child.signalCode === null && live.has(child);
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_KEPT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const isReady = async () => {
    if (!alive()) throw new Error(`worker exited (${child.exitCode ?? child.signalCode}):\n${output}`);
    try {
      return (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200;
    } catch {
      return false;
    }
  };
  return {
    child,
    port,
    ready: (timeoutMs = 20_000) => waitFor(isReady, timeoutMs, 50),
    async kill() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (alive()) child.kill('SIGTERM');
      return exited;
    },
    alive,
    output: () => output,
  };
}

/**
 * The fault tests' kill loop: SIGKILLs the current worker `lifeMs(kill)` after it is ready, `kills` times, starting
 * a new one (with `env`) after each kill. `onRestart` receives every new worker at once, so a test's teardown can
 * stop whichever is current if the loop is cut short; `onKill` runs after each kill. Resolves with the lives, once
 * the last worker is ready.
 */
export async function killRepeatedly(options: {
  first: WorkerProcess;
  env: Record<string, string>;
  kills: number;
  lifeMs: (kill: number) => number;
  onRestart: (worker: WorkerProcess) => void;
  onKill?: () => void;
}): Promise<number[]> {
  const lives: number[] = [];
  let current = options.first;
  for (let kill = 0; kill < options.kills; kill++) {
    await current.ready();
    const lifeMs = options.lifeMs(kill);
    await new Promise((resolve) => setTimeout(resolve, lifeMs));
    await current.kill();
    options.onKill?.();
    lives.push(lifeMs);
    current = await startWorkerProcess(options.env);
    options.onRestart(current);
  }
  await current.ready();
  return lives;
}
