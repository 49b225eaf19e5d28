/**
 * Per-address limits key IPv6 clients by their /64 (one subscriber's block) and IPv4-mapped addresses as IPv4, and
 * one email's sign-ins are limited across all addresses (review S7). Requests come through `inject`, which sets the
 * client address the app sees.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { env } from '../../server/lib/env.ts';
import { ipRateKey } from '../../server/lib/rate-limit.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { signUp } from '../helpers/client.ts';
import { deleteRedisKeys } from '../setup/redis.ts';

let server: TestApp;
beforeAll(async () => {
  server = await startTestApp({
    rateLimits: { loginPerIp: { points: 3, durationS: 900 }, loginPerEmail: { points: 4, durationS: 3_600 } },
  });
});
afterAll(() => server.close());
beforeEach(() => deleteRedisKeys(env.REDIS_URL, `${env.REDIS_PREFIX}:rl:*`));

/** auth.login as if from `remoteAddress`: the tRPC error code, or OK. */
async function loginFrom(app: TestApp, remoteAddress: string, email: string, password = 'not-the-password-1') {
  const response = await app.app.inject({
    method: 'POST',
    url: '/api/v1/trpc/auth.login',
    remoteAddress,
    payload: { json: { email, password } },
  });
  const body = response.json() as { error?: { json: { data: { code: string } } } };
  return body.error?.json.data.code ?? 'OK';
}
const someEmail = () => `nobody-${randomUUID().slice(0, 8)}@example.com`;

describe('ipRateKey', () => {
  it('keeps IPv4, unwraps IPv4-mapped IPv6 and cuts IPv6 to its /64, whatever the spelling', () => {
    expect(ipRateKey('203.0.113.9')).toBe('203.0.113.9');
    expect(ipRateKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(ipRateKey('::FFFF:cb00:7109')).toBe('203.0.113.9');
    expect(ipRateKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(ipRateKey('2001:0DB8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(ipRateKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(ipRateKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(ipRateKey('::1')).toBe('0:0:0:0::/64');
    expect(ipRateKey('2001:db8:1:2::1')).not.toBe(ipRateKey('2001:db8:1:3::1'));
  });
});

describe('per-address login limit', () => {
  it('counts every address of one IPv6 /64 together, and other /64s apart', async () => {
    for (const address of ['2001:db8:1:2::1', '2001:db8:1:2::ffff', '2001:db8:1:2:aaaa:bbbb:cccc:dddd']) {
      expect(await loginFrom(server, address, someEmail())).toBe('UNAUTHORIZED');
    }
    expect(await loginFrom(server, '2001:db8:1:2::2', someEmail())).toBe('TOO_MANY_REQUESTS');
    expect(await loginFrom(server, '2001:db8:1:3::1', someEmail())).toBe('UNAUTHORIZED');
  });

  it('counts an IPv4-mapped IPv6 address as the IPv4 address it carries', async () => {
    for (const address of ['198.51.100.20', '::ffff:198.51.100.20', '198.51.100.20']) {
      expect(await loginFrom(server, address, someEmail())).toBe('UNAUTHORIZED');
    }
    expect(await loginFrom(server, '::ffff:198.51.100.20', someEmail())).toBe('TOO_MANY_REQUESTS');
  });
});

describe('per-email login limit', () => {
  it('refuses one email past its budget from any address, even with the right password; others go on', async () => {
    const alice = await signUp(server.url);
    for (const n of [1, 2, 3, 4]) expect(await loginFrom(server, `192.0.2.${n}`, alice.email)).toBe('UNAUTHORIZED');
    expect(await loginFrom(server, '192.0.2.5', alice.email, alice.password)).toBe('TOO_MANY_REQUESTS');
    expect(await loginFrom(server, '2001:db8:9:9::1', ` ${alice.email.toUpperCase()}`, alice.password)).toBe(
      'TOO_MANY_REQUESTS',
    );
    const bob = await signUp(server.url);
    expect(await loginFrom(server, '192.0.2.6', bob.email, bob.password)).toBe('OK');
  });
});

describe('global per-address limit', () => {
  let tight: TestApp;
  beforeAll(async () => {
    tight = await startTestApp({ rateLimits: { globalPerIp: { points: 2, durationS: 60 } } });
  });
  afterAll(() => tight.close());

  it('counts an IPv6 /64 as one client', async () => {
    const status = async (remoteAddress: string) =>
      (await tight.app.inject({ method: 'GET', url: '/api/v1/trpc/health.check', remoteAddress })).statusCode;
    expect(await status('2001:db8:5:5::1')).toBe(200);
    expect(await status('2001:db8:5:5::2')).toBe(200);
    expect(await status('2001:db8:5:5:1:2:3:4')).toBe(429);
    expect(await status('2001:db8:5:6::1')).toBe(200);
  });
});
