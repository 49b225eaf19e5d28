/**
 * A real three-master Redis Cluster for one test file: three `redis-server` processes on free loopback ports, each
 * in a temporary directory with persistence off, joined by `redis-cli --cluster create` and waited on until every
 * node reports `cluster_state:ok` and agrees on the slot map. `close()` stops the processes and removes the
 * directory (a watcher does it if the test process dies first). A missing `redis-server` or `redis-cli` fails the caller with a message saying what to install: these
 * tests must never pass by not running.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);

export interface RedisClusterHandle {
  /** The seed URLs of every node, comma-separated, as REDIS_URL takes them with REDIS_CLUSTER. */
  url: string;
  ports: number[];
  close(): Promise<void>;
}

const MASTERS = 3;
const READY_TIMEOUT_MS = 20_000;

export async function startRedisCluster(): Promise<RedisClusterHandle> {
  const serverBin = await locate('redis-server');
  const cliBin = await locate('redis-cli');
  const dir = await mkdtemp(join(tmpdir(), 'fillpath-redis-cluster-'));
  const processes: ChildProcess[] = [];
  let reaper: ChildProcess | undefined;
  const close = async () => {
    reaper?.kill('SIGKILL');
    await Promise.all(processes.map(stop));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < MASTERS; i++) {
      const [port, busPort] = [await freePort(), await freePort()];
      ports.push(port);
      processes.push(startNode(serverBin, dir, port, busPort));
    }
    reaper = startReaper(dir, processes);
    await Promise.all(ports.map((port) => waitForPing(port, processes)));
    await run(cliBin, [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    await waitForClusterOk(ports);
    return { url: ports.map((port) => `redis://127.0.0.1:${port}`).join(','), ports, close };
  } catch (error) {
    await close();
    throw error;
  }
}

async function locate(binary: string): Promise<string> {
  try {
    const { stdout } = await run('sh', ['-c', `command -v ${binary}`]);
    const path = stdout.trim();
    if (path) return path;
  } catch {
    // reported below
  }
  throw new Error(
    `${binary} is not installed: the Redis Cluster tests start a real cluster and cannot run without it ` +
      '(apt-get install redis-server, which brings redis-server and redis-cli)',
  );
}

function startNode(binary: string, dir: string, port: number, busPort: number): ChildProcess {
  const child = spawn(
    binary,
    [
      '--port',
      String(port),
      '--cluster-port',
      String(busPort),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, `nodes-${port}.conf`),
      '--cluster-node-timeout',
      '5000',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`redis-server :${port} exited ${code}: ${stderr}\n`);
  });
  return child;
}

/**
 * A watcher outside this process: once this process is gone without closing the cluster (killed, or its teardown
 * timed out), it stops the nodes and removes their directory, so no test run leaves servers behind.
 */
function startReaper(dir: string, nodes: ChildProcess[]): ChildProcess {
  const script =
    'while kill -0 "$0" 2>/dev/null; do sleep 1; done; dir=$1; shift; kill "$@" 2>/dev/null; rm -rf "$dir"';
  const pids = nodes.map((node) => String(node.pid));
  const reaper = spawn('sh', ['-c', script, String(process.pid), dir, ...pids], { detached: true, stdio: 'ignore' });
  reaper.unref();
  return reaper;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** A port nothing listens on now (the kernel's choice), for a node or its cluster bus. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function withNode<T>(port: number, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Redis Cluster: ${what} within ${READY_TIMEOUT_MS} ms`);
}

async function waitForPing(port: number, processes: ChildProcess[]): Promise<void> {
  await until(async () => {
    if (processes.some((child) => child.exitCode !== null)) throw new Error('a redis-server exited');
    return (await withNode(port, (redis) => redis.ping())) === 'PONG';
  }, `node ${port} did not answer PING`);
}

/** Every node says the cluster is ok and knows all masters, so the first client sees the full slot map. */
async function waitForClusterOk(ports: number[]): Promise<void> {
  await until(async () => {
    const states = await Promise.all(
      ports.map((port) =>
        withNode(port, async (redis) => {
          const info = String(await redis.call('CLUSTER', 'INFO'));
          const slots = (await redis.call('CLUSTER', 'SLOTS')) as unknown[];
          return info.includes('cluster_state:ok') && slots.length === MASTERS;
        }),
      ),
    );
    return states.every(Boolean);
  }, 'the cluster did not reach cluster_state:ok');
}
