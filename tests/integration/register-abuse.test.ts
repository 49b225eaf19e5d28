/**
 * Sign-up abuse (review S3): registrations are limited per address and per call (a batch cannot multiply them), and
 * a flood of sign-ups cannot crowd sign-ins out of password hashing.
 */
import { randomUUID } from 'node:crypto';
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../server/lib/passwords.ts';
import type { AppRouter } from '../../server/trpc/app-router.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { rememberSecret } from '../helpers/secrets.ts';

let server: TestApp;
beforeAll(async () => {
  server = await startTestApp({ rateLimits: { registerPerIp: { points: 3, durationS: 3_600 } } });
});
afterAll(() => server.close());

function newAccount() {
  const password = `pw-${randomUUID()}`;
  rememberSecret(password);
  return { email: `signup-${randomUUID().slice(0, 8)}@example.com`, password, name: 'New Trader' };
}

/** auth.register over `inject`, as if from `remoteAddress`: the HTTP status and the tRPC error code, if any. */
async function registerFrom(remoteAddress: string) {
  const response = await server.app.inject({
    method: 'POST',
    url: '/api/v1/trpc/auth.register',
    remoteAddress,
    payload: { json: newAccount() },
  });
  const body = response.json() as {
    result?: { data: { json: { accessToken: string; refreshToken: string } } };
    error?: { json: { data: { code: string } } };
  };
  if (body.result) rememberSecret(body.result.data.json.accessToken, body.result.data.json.refreshToken);
  return { status: response.statusCode, code: body.error?.json.data.code ?? 'OK' };
}

describe('registration limit per address', () => {
  it('counts every call of a batch, refuses past the budget with a retry hint, and spares other addresses', async () => {
    const batching = createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: `${server.url}/api/v1/trpc`, transformer: superjson })],
    });
    // Five registrations in one HTTP request: the per-request limit counts one, this one counts five.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, () => batching.auth.register.mutate(newAccount())),
    );
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') rememberSecret(outcome.value.accessToken, outcome.value.refreshToken);
    }
    const refused = outcomes.flatMap((outcome) =>
      outcome.status === 'rejected' && outcome.reason instanceof TRPCClientError ? [outcome.reason] : [],
    );
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(3);
    expect(refused).toHaveLength(2);
    for (const error of refused) {
      expect(error.data).toMatchObject({ code: 'TOO_MANY_REQUESTS', appCode: 'rate-limited' });
      expect(error.data?.retryAfterS).toBeGreaterThan(3_000);
    }

    expect(await registerFrom('198.51.100.7')).toEqual({ status: 200, code: 'OK' });
  });
});

describe('password hashing queues', () => {
  it('a sign-up flood that overflows its queue leaves sign-in verification untouched', async () => {
    const password = `pw-${randomUUID()}`;
    rememberSecret(password);
    const stored = await hashPassword(password);

    // Far more new hashes than their queue holds, all enqueued before any can finish: the overflow is refused.
    const flood = Array.from({ length: 120 }, () =>
      hashPassword(`pw-${randomUUID()}`).then(
        () => 'hashed',
        () => 'refused',
      ),
    );
    // A sign-in arriving now is verified, not refused for want of a slot.
    await expect(verifyPassword(stored, password)).resolves.toBe(true);
    const results = await Promise.all(flood);
    expect(results).toContain('refused');
  });
});
