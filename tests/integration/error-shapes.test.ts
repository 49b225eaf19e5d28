import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from '@trpc/client';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { LEAKY_MESSAGE, type TestRouter, testRouter } from '../helpers/test-router.ts';

let server: TestApp;
let client: ReturnType<typeof createTRPCClient<TestRouter>>;

beforeAll(async () => {
  server = await startTestApp({ router: testRouter });
  client = createTRPCClient<TestRouter>({
    links: [httpLink({ url: `${server.url}/api/v1/trpc`, transformer: superjson })],
  });
});
afterAll(() => server.close());

async function failure(call: () => Promise<unknown>): Promise<TRPCClientError<TestRouter>> {
  try {
    await call();
  } catch (error) {
    if (error instanceof TRPCClientError) return error as TRPCClientError<TestRouter>;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('tRPC error shapes over HTTP', () => {
  it('answers a zod failure with BAD_REQUEST, validation-failed and the flattened field errors', async () => {
    // biome-ignore lint/suspicious/noExplicitAny: deliberately sending input the types forbid
    const error = await failure(() => client.test.echo.query({ quantity: 0, symbol: '' } as any));
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(error.data?.httpStatus).toBe(400);
    expect(error.data?.appCode).toBe('validation-failed');
    expect(error.data?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(error.data?.zodError?.fieldErrors ?? {}).sort()).toEqual(['quantity', 'symbol']);
  });

  it('maps a typed service error to its tRPC code and stable app code', async () => {
    const error = await failure(() => client.test.missing.query());
    expect(error.data?.code).toBe('NOT_FOUND');
    expect(error.data?.httpStatus).toBe(404);
    expect(error.data?.appCode).toBe('not-found');
    expect(error.message).toBe('Strategy not found');
    expect(error.data?.zodError).toBeNull();
  });

  it('carries a retry hint on rate-limit errors', async () => {
    const error = await failure(() => client.test.throttled.mutate());
    expect(error.data?.code).toBe('TOO_MANY_REQUESTS');
    expect(error.data?.appCode).toBe('rate-limited');
    expect(error.data?.retryAfterS).toBe(7);
  });

  it('masks an unexpected error: no message, stack or SQL text reaches the caller', async () => {
    const error = await failure(() => client.test.boom.query());
    expect(error.data?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(error.data?.appCode).toBe('internal-error');
    expect(error.message).toBe('Internal server error');

    const raw = await fetch(`${server.url}/api/v1/trpc/test.boom`, { headers: { 'x-request-id': 'trace-abc-123' } });
    const text = await raw.text();
    expect(raw.status).toBe(500);
    expect(raw.headers.get('x-request-id')).toBe('trace-abc-123');
    expect(text).toContain('trace-abc-123');
    for (const leak of ['SELECT', 'password_hash', 'ER_PARSE_ERROR', '/srv/db.ts', 'stack', LEAKY_MESSAGE]) {
      expect(text).not.toContain(leak);
    }
  });

  it('keeps each call of a batch independent: one failure does not fail its neighbours', async () => {
    const batch = createTRPCClient<TestRouter>({
      links: [httpBatchLink({ url: `${server.url}/api/v1/trpc`, transformer: superjson, maxItems: 10 })],
    });
    const [ok, missing] = await Promise.allSettled([
      batch.test.echo.query({ quantity: 3, symbol: 'MNQ' }),
      batch.test.missing.query(),
    ]);
    expect(ok).toEqual({ status: 'fulfilled', value: { quantity: 3, symbol: 'MNQ' } });
    expect(missing.status).toBe('rejected');
  });

  it('gives protocol errors their own stable codes, never internal-error', async () => {
    const response = await fetch(`${server.url}/api/v1/trpc/health.check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(405);
    expect(JSON.stringify(await response.json())).toContain('"appCode":"method-not-allowed"');
  });

  it('replaces a malformed x-request-id with a generated one', async () => {
    const response = await fetch(`${server.url}/health/live`, { headers: { 'x-request-id': 'bad id\twith junk' } });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown routes with the HTTP error shape', async () => {
    const response = await fetch(`${server.url}/nope?x=1`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ ok: false, code: 'not-found', requestId: expect.any(String) });
  });
});
