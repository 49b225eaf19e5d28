import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { env } from '../../server/lib/env.ts';
import { startTestApp, type TestApp, waitFor } from '../helpers/app.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

// The api reaches the real test database through a proxy the test can cut, so MariaDB itself keeps running.
let proxy: TcpProxy;
let server: TestApp;

beforeAll(async () => {
  const target = new URL(env.DATABASE_URL);
  proxy = await startTcpProxy(target.hostname, Number(target.port || 3306));
  const viaProxy = new URL(env.DATABASE_URL);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  server = await startTestApp({ databaseUrl: viaProxy.toString() });
});
afterAll(async () => {
  await server.close();
  await proxy.close();
});

async function ready() {
  const response = await fetch(`${server.url}/health/ready`);
  return { status: response.status, body: (await response.json()) as { ok: boolean; failing: string[] } };
}

describe('readiness', () => {
  it('is 200 when MySQL, Redis and migrations are fine, 503 while the database is unreachable, 200 again after', async () => {
    // Redis connects in the background after start-up; readiness reports it until then.
    await waitFor(async () => (await ready()).status === 200);
    expect(await ready()).toEqual({ status: 200, body: { ok: true, status: 'ready', failing: [] } });
    expect((await fetch(`${server.url}/health`)).status).toBe(200);

    await proxy.cut();
    const down = await ready();
    expect(down.status).toBe(503);
    expect(down.body.failing).toContain('database');
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
    const summary = await (await fetch(`${server.url}/health`)).json();
    expect(summary).toMatchObject({ ok: false, status: 'degraded', components: { database: 'down', redis: 'ok' } });
    expect(JSON.stringify(summary)).not.toMatch(/mysql:\/\/|root@|127\.0\.0\.1/);

    await proxy.restore();
    await waitFor(async () => (await ready()).status === 200);
  });

  it('is 503 with "draining" once shutdown has begun, while liveness stays 200', async () => {
    server.deps.lifecycle.startDraining();
    const draining = await ready();
    expect(draining.status).toBe(503);
    expect(draining.body.failing).toEqual(['draining']);
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
  });

  it('keeps serving during the grace period, each answer closing its connection so clients move elsewhere', async () => {
    // (startDraining ran in the test above.) Readiness is 503 already; a load balancer has not noticed yet.
    const response = await fetch(`${server.url}/api/v1/trpc/health.check`);
    expect(response.status).toBe(200);
    expect(response.headers.get('connection')).toBe('close');
    expect((await ready()).status).toBe(503);
  });

  it('answers a request that reaches it once the listener closes 503 in the API error shape, closing the connection', async () => {
    server.deps.lifecycle.startClosing();
    // A webhook alert and an API call (on a connection opened before the close).
    for (const [path, init] of [
      ['/api/v1/webhooks/tradingview/some-token', { method: 'POST', body: '{"ticker":"AAPL","action":"buy"}' }],
      ['/api/v1/trpc/health.check', { method: 'GET' }],
    ] as const) {
      const response = await fetch(`${server.url}${path}`, {
        ...init,
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status).toBe(503);
      expect(response.headers.get('connection')).toBe('close');
      expect(response.headers.get('retry-after')).toBe('5');
      expect(await response.json()).toMatchObject({ ok: false, code: 'service-unavailable' });
    }
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
  });
});
