/**
 * The api as a real child process (`node server/api.ts`, from sources), the counterpart of worker-process.ts: on this
 * test file's database and Redis prefix (inherited through process.env), with whatever else the test passes. Its logs
 * go where LOG_FILE says, like every process of the run (a test that reads them back passes a file of its own). A
 * child still running when the test process exits is SIGKILLed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './app.ts';
import { freePort } from './worker-process.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OUTPUT_KEPT = 20_000;

export interface ApiProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** Resolves once /health/ready answers 200. */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGTERM (graceful drain); resolves with the exit code once the process is gone. */
  stop(): Promise<number | null>;
  /** SIGKILL, and wait for the process to be gone. */
  kill(): Promise<void>;
  /** False once the process has exited, whatever the cause. */
  alive(): boolean;
  /** The tail of stdout and stderr. */
  output(): string;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function startApiProcess(env: Record<string, string> = {}): Promise<ApiProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['server/api.ts'], {
    cwd: ROOT,
    env: { ...process.env, LOG_PRETTY: 'false', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let output = '';
  const exited = once(child, 'exit').then(
    ([code]) => code as number | null,
    () => null,
  );
  void exited.finally(() => live.delete(child));
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_KEPT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const alive = () => child.exitCode === null && child.signalCode === null;
  const url = `http://127.0.0.1:${port}`;

  return {
    child,
    port,
    url,
    ready: (timeoutMs = 20_000) =>
      waitFor(async () => {
        if (!alive()) throw new Error(`api exited (${child.exitCode ?? child.signalCode}):\n${output}`);
        try {
          return (await fetch(`${url}/health/ready`)).status === 200;
        } catch {
          return false;
        }
      }, timeoutMs),
    async stop() {
      if (alive()) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    alive,
    output: () => output,
  };
}
