/**
 * The api and worker as real processes: the production bundle (`npm start` / `npm run worker` run dist/) and the
 * sources (`npm run dev` runs them directly). Each becomes ready, and SIGTERM drains it and exits 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/app.ts';

const children: ChildProcess[] = [];
beforeAll(async () => {
  const build = spawn(process.execPath, ['scripts/build.ts'], { stdio: 'inherit' });
  const [code] = await once(build, 'exit');
  expect(code).toBe(0);
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (!address || typeof address !== 'object') throw new Error('no port');
  return address.port;
}

async function startProcess(entry: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, LOG_LEVEL: 'info', LOG_PRETTY: 'false', LOG_FILE: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  return { child, output: () => output };
}

async function isReady(port: number) {
  try {
    return (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200;
  } catch {
    return false;
  }
}

describe.each([
  ['api (bundle)', 'dist/api.js', 'PORT'],
  ['worker (bundle)', 'dist/worker.js', 'WORKER_PORT'],
  ['api (sources)', 'server/api.ts', 'PORT'],
])('%s process', (_name, entry, portVariable) => {
  it('becomes ready, then drains and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const { child, output } = await startProcess(entry, { [portVariable]: String(port), HOST: '127.0.0.1' });
    await waitFor(() => isReady(port), 15_000);

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code, output()).toBe(0);
    expect(output()).toContain('shutting down');
  });
});

describe('configuration errors', () => {
  it('stop start-up with one line per bad variable and no stack', async () => {
    const { child, output } = await startProcess('dist/api.js', { PORT: 'eighty', JWT_SECRET: 'short' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    const lines = output().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.some((line) => line.startsWith('config error: PORT:') && line.includes('"eighty"'))).toBe(true);
    expect(lines.some((line) => line.startsWith('config error: JWT_SECRET:') && line.includes('hidden'))).toBe(true);
  });
});
