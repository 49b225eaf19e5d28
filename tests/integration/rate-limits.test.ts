import { randomUUID } from 'node:crypto';
import { createTRPCClient, httpLink } from '@trpc/client';
import superjson from 'superjson';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { env } from '../../server/lib/env.ts';
import { appRouter } from '../../server/trpc/app-router.ts';
import { mergeRouters, protectedProcedure, router } from '../../server/trpc/init.ts';
import { startTestApp, type TestApp, waitFor } from '../helpers/app.ts';
import { apiClient, signUp, trpcFailure } from '../helpers/client.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { deleteRedisKeys } from '../setup/redis.ts';

// One procedure per rate class, so the limits are tested apart from any product rule.
const probeRouter = mergeRouters(
  appRouter,
  router({
    probe: router({
      read: protectedProcedure.query(() => 'read'),
      write: protectedProcedure.mutation(() => 'written'),
      broker: protectedProcedure.meta({ rateClass: 'broker' }).mutation(() => 'sent'),
    }),
  }),
);
type ProbeRouter = typeof probeRouter;

const SMALL = {
  read: { points: 4, durationS: 60 },
  write: { points: 3, durationS: 60 },
  broker: { points: 2, durationS: 60 },
};

/** A probe client that remembers the headers of its last response. */
function probeClient(url: string, accessToken: string) {
  const seen: { headers?: Headers } = {};
  const client = createTRPCClient<ProbeRouter>({
    links: [
      httpLink({
        url: `${url}/api/v1/trpc`,
        transformer: superjson,
        headers: { authorization: `Bearer ${accessToken}` },
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          seen.headers = response.headers;
          return response;
        },
      }),
    ],
  });
  return { client, seen };
}

const wrongPassword = 'not-the-password-1';
const email = () => `someone-${randomUUID().slice(0, 8)}@example.com`;

let server: TestApp;
beforeAll(async () => {
  server = await startTestApp({ router: probeRouter, rateLimits: SMALL });
});
afterAll(() => server.close());
// Every test starts with empty counters (the in-memory insurance is only used while Redis is down).
beforeEach(() => deleteRedisKeys(env.REDIS_URL, `${env.REDIS_PREFIX}:rl:*`));

describe('login limits (defaults: 5 per (address, email), 20 per address, per 15 minutes)', () => {
  it('refuses the 6th attempt for one email even with the right password, with a retry hint', async () => {
    const alice = await signUp(server.url);
    const anon = apiClient(server.url);
    for (let attempt = 1; attempt <= 5; attempt++) {
      const error = await trpcFailure(() => anon.auth.login.mutate({ email: alice.email, password: wrongPassword }));
      expect(error.data?.code).toBe('UNAUTHORIZED');
    }
    const limited = await trpcFailure(() => anon.auth.login.mutate({ email: alice.email, password: alice.password }));
    expect(limited.data).toMatchObject({ code: 'TOO_MANY_REQUESTS', httpStatus: 429, appCode: 'rate-limited' });
    expect(limited.data?.retryAfterS).toBeGreaterThan(800);
    expect(limited.data?.retryAfterS).toBeLessThanOrEqual(900);

    // Case and padding do not make a new key; another email from the same address is still let through.
    const shouted = await trpcFailure(() =>
      anon.auth.login.mutate({ email: ` ${alice.email.toUpperCase()} `, password: alice.password }),
    );
    expect(shouted.data?.code).toBe('TOO_MANY_REQUESTS');
    const bob = await signUp(server.url);
    expect((await anon.auth.login.mutate({ email: bob.email, password: bob.password })).user.id).toBe(bob.id);
  });

  it('a successful login clears the count for that email', async () => {
    const alice = await signUp(server.url);
    const anon = apiClient(server.url);
    const fail = () => trpcFailure(() => anon.auth.login.mutate({ email: alice.email, password: wrongPassword }));
    for (let attempt = 1; attempt <= 4; attempt++) await fail();
    await anon.auth.login.mutate({ email: alice.email, password: alice.password });
    for (let attempt = 1; attempt <= 5; attempt++) expect((await fail()).data?.code).toBe('UNAUTHORIZED');
    expect((await fail()).data?.code).toBe('TOO_MANY_REQUESTS');
  });

  it('refuses the 21st attempt from one address across emails, whatever the email', async () => {
    const alice = await signUp(server.url);
    const anon = apiClient(server.url);
    for (let attempt = 1; attempt <= 20; attempt++) {
      const error = await trpcFailure(() => anon.auth.login.mutate({ email: email(), password: wrongPassword }));
      expect(error.data?.code).toBe('UNAUTHORIZED');
    }
    const limited = await trpcFailure(() => anon.auth.login.mutate({ email: alice.email, password: alice.password }));
    expect(limited.data?.code).toBe('TOO_MANY_REQUESTS');
    expect(limited.data?.retryAfterS).toBeGreaterThan(0);
  });
});

describe('per-user limits by procedure class', () => {
  it('refuses a write past the budget with 429, retryAfterS and Retry-After; reads and other users go on', async () => {
    const alice = await signUp(server.url);
    const { client, seen } = probeClient(server.url, alice.accessToken);
    for (let call = 1; call <= SMALL.write.points; call++) expect(await client.probe.write.mutate()).toBe('written');

    const limited = await trpcFailure<ProbeRouter>(() => client.probe.write.mutate());
    expect(limited.data).toMatchObject({ code: 'TOO_MANY_REQUESTS', httpStatus: 429, appCode: 'rate-limited' });
    const retryAfterS = limited.data?.retryAfterS ?? 0;
    expect(retryAfterS).toBeGreaterThan(0);
    expect(retryAfterS).toBeLessThanOrEqual(60);
    expect(Number(seen.headers?.get('retry-after'))).toBe(retryAfterS);

    expect(await client.probe.read.query()).toBe('read');
    expect(await client.probe.broker.mutate()).toBe('sent');
    const bob = await signUp(server.url);
    expect(await probeClient(server.url, bob.accessToken).client.probe.write.mutate()).toBe('written');
  });

  it('limits broker-touching writes on their own, smaller budget', async () => {
    const alice = await signUp(server.url);
    const { client } = probeClient(server.url, alice.accessToken);
    for (let call = 1; call <= SMALL.broker.points; call++) await client.probe.broker.mutate();
    expect((await trpcFailure<ProbeRouter>(() => client.probe.broker.mutate())).data?.code).toBe('TOO_MANY_REQUESTS');
    expect(await client.probe.write.mutate()).toBe('written');
  });
});

describe('global per-address limit', () => {
  let tight: TestApp;
  beforeAll(async () => {
    tight = await startTestApp({ rateLimits: { globalPerIp: { points: 3, durationS: 60 } } });
  });
  afterAll(() => tight.close());

  it('answers 429 rate-limited with Retry-After past the budget, and never limits the health probes', async () => {
    for (let call = 1; call <= 3; call++) {
      expect((await fetch(`${tight.url}/api/v1/trpc/health.check`)).status).toBe(200);
    }
    const limited = await fetch(`${tight.url}/no-such-route`);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toEqual({
      ok: false,
      code: 'rate-limited',
      message: expect.stringContaining('Too many requests'),
      requestId: limited.headers.get('x-request-id'),
    });
    expect((await fetch(`${tight.url}/api/v1/trpc/health.check`)).status).toBe(429);
    for (const probe of ['/health/live', '/health/ready', '/health']) {
      expect((await fetch(`${tight.url}${probe}`)).status).toBe(200);
    }
  });
});

describe('with Redis unreachable', () => {
  let proxy: TcpProxy;
  let cut: TestApp;
  beforeAll(async () => {
    const redisUrl = new URL(env.REDIS_URL);
    proxy = await startTcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
    redisUrl.hostname = '127.0.0.1';
    redisUrl.port = String(proxy.port);
    cut = await startTestApp({
      router: probeRouter,
      redisUrl: redisUrl.toString(),
      rateLimits: { ...SMALL, globalPerIp: { points: 40, durationS: 60 } },
    });
    await waitFor(async () => cut.deps.redis.status === 'ready');
  });
  afterAll(async () => {
    await cut.close();
    await proxy.close();
  });

  it('still enforces every limit in memory, and procedures answer without hanging or failing', async () => {
    const alice = await signUp(cut.url);
    await proxy.cut();
    await waitFor(async () => cut.deps.redis.status !== 'ready');
    const anon = apiClient(cut.url);

    expect((await anon.auth.login.mutate({ email: alice.email, password: alice.password })).user.id).toBe(alice.id);
    for (let attempt = 1; attempt <= 5; attempt++) {
      const error = await trpcFailure(() => anon.auth.login.mutate({ email: alice.email, password: wrongPassword }));
      expect(error.data?.code).toBe('UNAUTHORIZED');
    }
    const login = await trpcFailure(() => anon.auth.login.mutate({ email: alice.email, password: alice.password }));
    expect(login.data?.code).toBe('TOO_MANY_REQUESTS');

    const { client } = probeClient(cut.url, alice.accessToken);
    for (let call = 1; call <= SMALL.write.points; call++) expect(await client.probe.write.mutate()).toBe('written');
    const write = await trpcFailure<ProbeRouter>(() => client.probe.write.mutate());
    expect(write.data).toMatchObject({ code: 'TOO_MANY_REQUESTS', httpStatus: 429 });

    // The per-address budget (40) runs out in memory too: 11 requests were counted since the cut.
    const statuses: number[] = [];
    for (let call = 0; call < 30; call++) statuses.push((await fetch(`${cut.url}/api/v1/trpc/health.check`)).status);
    expect(statuses.filter((status) => status === 200).length).toBe(40 - 11);
    expect(statuses.at(-1)).toBe(429);
  });

  it('counts in Redis again once it is back', async () => {
    await proxy.restore();
    await waitFor(async () => cut.deps.redis.status === 'ready');
    const bob = await signUp(cut.url);
    await probeClient(cut.url, bob.accessToken).client.probe.read.query();
    expect(await cut.deps.redis.exists(`${env.REDIS_PREFIX}:rl:user-read:${bob.id}`)).toBe(1);
  });
});
