import { eq } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLogs } from '../../drizzle/schema/audit_logs.ts';
import { sessions } from '../../drizzle/schema/sessions.ts';
import { users } from '../../drizzle/schema/users.ts';
import { env } from '../../server/lib/env.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiClient, signUp, trpcFailure } from '../helpers/client.ts';
import { rememberSecret } from '../helpers/secrets.ts';

let server: TestApp;
beforeAll(async () => {
  server = await startTestApp();
});
afterAll(() => server.close());

const db = () => server.deps.database.db;
async function auditActions(userId: number) {
  const rows = await db().select().from(auditLogs).where(eq(auditLogs.userId, userId));
  return rows.map((row) => row.action);
}

describe('register and login', () => {
  it('registers, signs in and answers me() with the caller only', async () => {
    const alice = await signUp(server.url, 'Alice');
    expect(await alice.client.auth.me.query()).toMatchObject({
      id: alice.id,
      email: alice.email,
      name: 'Alice',
      role: 'user',
    });

    const again = await apiClient(server.url).auth.login.mutate({
      email: alice.email.toUpperCase(),
      password: alice.password,
    });
    expect(again.user).toEqual({ id: alice.id, email: alice.email, name: 'Alice', role: 'user' });
    expect(again.expiresIn).toBe(900);
    expect(await auditActions(alice.id)).toEqual(expect.arrayContaining(['auth.register', 'auth.login']));
  });

  it('refuses weak passwords and a password equal to the email, with field errors', async () => {
    const anon = apiClient(server.url);
    const short = await trpcFailure(() =>
      anon.auth.register.mutate({ email: 'a@example.com', password: 'short', name: 'A' }),
    );
    expect(short.data?.appCode).toBe('validation-failed');
    expect(short.data?.zodError?.fieldErrors).toHaveProperty('password');
    const same = await trpcFailure(() =>
      anon.auth.register.mutate({ email: 'same@example.com', password: 'same@example.com', name: 'A' }),
    );
    expect(same.data?.zodError?.fieldErrors).toHaveProperty('password');
  });

  it('refuses a second account with the same email as a conflict', async () => {
    const alice = await signUp(server.url);
    const error = await trpcFailure(() =>
      apiClient(server.url).auth.register.mutate({ email: alice.email, password: 'another-password-1', name: 'B' }),
    );
    expect(error.data?.appCode).toBe('conflict');
  });

  it('gives the same answer for an unknown email and a wrong password, and audits the failure', async () => {
    const alice = await signUp(server.url);
    const anon = apiClient(server.url);
    const wrong = await trpcFailure(() => anon.auth.login.mutate({ email: alice.email, password: 'wrong-password-1' }));
    const unknown = await trpcFailure(() =>
      anon.auth.login.mutate({ email: 'nobody-here@example.com', password: 'wrong-password-1' }),
    );
    expect([wrong.data?.code, wrong.message]).toEqual([unknown.data?.code, unknown.message]);
    expect(wrong.data?.code).toBe('UNAUTHORIZED');
    expect(await auditActions(alice.id)).toContain('auth.login_failed');
  });
});

describe('access tokens', () => {
  /** How auth.me answers a bearer token: 'accepted', or the refusal's code and HTTP status. */
  async function answerTo(token?: string): Promise<string> {
    return apiClient(server.url, token)
      .auth.me.query()
      .then(
        () => 'accepted',
        (error: { data?: { code?: string; httpStatus?: number } }) => `${error.data?.code} ${error.data?.httpStatus}`,
      );
  }
  const secret = new TextEncoder().encode(env.JWT_SECRET);

  it('refuses a missing, tampered, expired, wrong-audience, wrong-issuer, unsigned or foreign-key token with 401', async () => {
    const alice = await signUp(server.url);
    const [header, payload, signature = ''] = alice.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
    // Every forgery carries Alice's live session family, so each is refused for its one flaw, not for naming no session.
    const forge = (alg = 'HS256') =>
      new SignJWT({ role: 'user', fam: claims.fam })
        .setProtectedHeader({ alg, typ: 'JWT' })
        .setSubject(String(alice.id))
        .setIssuer('fillpath')
        .setAudience('fillpath-api')
        .setIssuedAt();
    const genuine = await forge().setExpirationTime('5m').sign(secret);
    rememberSecret(genuine);
    expect(await answerTo(genuine)).toBe('accepted');

    const reclaimed = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    const flipped = `${signature.slice(0, -4)}${signature.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const forgeries: Record<string, string> = {
      'payload changed': `${header}.${reclaimed}.${signature}`,
      'signature changed': `${header}.${payload}.${flipped}`,
      expired: await forge()
        .setIssuedAt(Math.floor(Date.now() / 1000) - 1_000)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
        .sign(secret),
      'wrong audience': await forge().setAudience('other-api').setExpirationTime('5m').sign(secret),
      'wrong issuer': await forge().setIssuer('evil').setExpirationTime('5m').sign(secret),
      'alg none': `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`,
      'another secret': await forge()
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode('x'.repeat(40))),
      // HS256 is pinned: the right secret under another algorithm is refused too.
      'another algorithm': await forge('HS512').setExpirationTime('5m').sign(secret),
    };
    rememberSecret(...Object.values(forgeries));

    const answers: Record<string, string> = { 'no token': await answerTo() };
    for (const [flaw, token] of Object.entries(forgeries)) answers[flaw] = await answerTo(token);
    expect(answers).toEqual(Object.fromEntries(Object.keys(answers).map((flaw) => [flaw, 'UNAUTHORIZED 401'])));
  });
});

describe('refresh tokens', () => {
  it('rotates on every use; presenting a rotated token revokes the whole family and is audited', async () => {
    const alice = await signUp(server.url);
    const anon = apiClient(server.url);
    const first = await anon.auth.refresh.mutate({ refreshToken: alice.refreshToken });
    expect(first.refreshToken).not.toBe(alice.refreshToken);
    const second = await anon.auth.refresh.mutate({ refreshToken: first.refreshToken });

    // The stolen original comes back: the family dies, including the newest token.
    const reuse = await trpcFailure(() => anon.auth.refresh.mutate({ refreshToken: alice.refreshToken }));
    expect(reuse.data?.code).toBe('UNAUTHORIZED');
    const after = await trpcFailure(() => anon.auth.refresh.mutate({ refreshToken: second.refreshToken }));
    expect(after.data?.code).toBe('UNAUTHORIZED');
    expect(await auditActions(alice.id)).toContain('auth.refresh_reuse');
    const live = (await db().select().from(sessions).where(eq(sessions.userId, alice.id))).filter((s) => !s.revokedAt);
    expect(live).toHaveLength(0);
  });

  it('logout ends the family; changePassword keeps the caller signed in and revokes other sessions', async () => {
    const alice = await signUp(server.url);
    const anon = apiClient(server.url);
    const laptop = await anon.auth.login.mutate({ email: alice.email, password: alice.password });

    const changed = await alice.client.auth.changePassword.mutate({
      currentPassword: alice.password,
      newPassword: 'a-brand-new-password',
    });
    expect(changed.sessionsRevoked).toBe(1);
    expect((await trpcFailure(() => anon.auth.refresh.mutate({ refreshToken: laptop.refreshToken }))).data?.code).toBe(
      'UNAUTHORIZED',
    );
    const mine = await anon.auth.refresh.mutate({ refreshToken: alice.refreshToken });
    expect(
      (await trpcFailure(() => anon.auth.login.mutate({ email: alice.email, password: alice.password }))).data?.code,
    ).toBe('UNAUTHORIZED');
    await anon.auth.login.mutate({ email: alice.email, password: 'a-brand-new-password' });

    await anon.auth.logout.mutate({ refreshToken: mine.refreshToken });
    expect((await trpcFailure(() => anon.auth.refresh.mutate({ refreshToken: mine.refreshToken }))).data?.code).toBe(
      'UNAUTHORIZED',
    );
    expect(await auditActions(alice.id)).toEqual(expect.arrayContaining(['auth.password_change', 'auth.logout']));
  });
});

describe('review fixes', () => {
  it('refuses a name that is only markup instead of storing a stand-in (C1)', async () => {
    // The email's local part used to stand in for the name; one this long overflowed the column into a 500.
    const email = `${'x'.repeat(120)}@example.com`;
    const error = await trpcFailure(() =>
      apiClient(server.url).auth.register.mutate({ email, password: 'a-good-password-1', name: '<b></b>' }),
    );
    expect(error.data).toMatchObject({ code: 'BAD_REQUEST', appCode: 'validation-failed' });
    expect(await db().select().from(users).where(eq(users.email, email))).toEqual([]);
  });

  it('treats a logged-out or password-change-revoked token as invalid, not as reuse (C4)', async () => {
    const alice = await signUp(server.url);
    const anon = apiClient(server.url);
    const laptop = await anon.auth.login.mutate({ email: alice.email, password: alice.password });
    const newPassword = 'another-new-password';
    rememberSecret(laptop.accessToken, laptop.refreshToken, newPassword);
    // The password change (made on the laptop) revokes the first session; logout then ends the laptop's.
    await apiClient(server.url, laptop.accessToken).auth.changePassword.mutate({
      currentPassword: alice.password,
      newPassword,
    });
    await anon.auth.logout.mutate({ refreshToken: laptop.refreshToken });
    const revokedAt = async () =>
      (await db().select().from(sessions).where(eq(sessions.userId, alice.id))).map((s) => s.revokedAt);
    const before = await revokedAt();

    for (const refreshToken of [alice.refreshToken, laptop.refreshToken]) {
      const error = await trpcFailure(() => anon.auth.refresh.mutate({ refreshToken }));
      expect(error.data?.code).toBe('UNAUTHORIZED');
    }
    expect(await auditActions(alice.id)).not.toContain('auth.refresh_reuse');
    // Nothing was revoked again: the revocation times are the ones logout and the password change wrote.
    expect(await revokedAt()).toEqual(before);
  });
});
