import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { env } from '../../server/lib/env.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let server: TestApp;
beforeAll(async () => {
  server = await startTestApp();
});
afterAll(() => server.close());

describe('request limits', () => {
  it('refuses a body over BODY_LIMIT_BYTES with 413 and the HTTP error shape', async () => {
    const body = JSON.stringify({ json: { pad: 'x'.repeat(env.BODY_LIMIT_BYTES + 1) } });
    const response = await fetch(`${server.url}/api/v1/trpc/health.check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ ok: false, code: 'payload-too-large' });
  });

  it('refuses a batch larger than TRPC_MAX_BATCH_SIZE with 400 before running any call', async () => {
    const paths = Array.from({ length: env.TRPC_MAX_BATCH_SIZE + 1 }, () => 'health.check').join(',');
    const response = await fetch(`${server.url}/api/v1/trpc/${paths}?batch=1&input={}`);
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(JSON.stringify(body)).toContain('batch-too-large');
  });

  it('serves a batch at the limit', async () => {
    const paths = Array.from({ length: env.TRPC_MAX_BATCH_SIZE }, () => 'health.check').join(',');
    const response = await fetch(`${server.url}/api/v1/trpc/${paths}?batch=1&input={}`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as unknown[]).length).toBe(env.TRPC_MAX_BATCH_SIZE);
  });

  it('sends the hardening headers of an API', async () => {
    const response = await fetch(`${server.url}/health/live`);
    expect(response.headers.get('strict-transport-security')).toContain('max-age=31536000');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('answers CORS preflights only for allowed origins', async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/api/v1/trpc/health.check`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET' },
      });
    const denied = await preflight('https://evil.example');
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
  });
});
