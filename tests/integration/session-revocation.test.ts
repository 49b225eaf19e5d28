/**
 * An access token works only while its session does: logout, refresh-token reuse, a password change or an admin's
 * disable end it at once, and a revocation this api instance did not make within the session-check cache's 5 s.
 */
import { and, eq } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLogs } from '../../drizzle/schema/audit_logs.ts';
import { sessions } from '../../drizzle/schema/sessions.ts';
import { users } from '../../drizzle/schema/users.ts';
import { env } from '../../server/lib/env.ts';
import { startTestApp, type TestApp, waitFor } from '../helpers/app.ts';
import { apiClient, type SignedInUser, signUp, trpcFailure } from '../helpers/client.ts';
import { rememberSecret } from '../helpers/secrets.ts';

let server: TestApp;
beforeAll(async () => {
  server = await startTestApp();
});
afterAll(() => server.close());

const db = () => server.deps.database.db;
const anon = () => apiClient(server.url);

/** Signs in again (a new session family) and returns a client holding that family's access token. */
async function secondDevice(user: SignedInUser) {
  const session = await anon().auth.login.mutate({ email: user.email, password: user.password });
  rememberSecret(session.accessToken, session.refreshToken);
  return { ...session, client: apiClient(server.url, session.accessToken) };
}

async function expectSignedOut(call: () => Promise<unknown>) {
  const error = await trpcFailure(call);
  expect(error.data?.code).toBe('UNAUTHORIZED');
}

describe('access tokens end with their session', () => {
  it('logout ends the family at once; another device stays signed in', async () => {
    const alice = await signUp(server.url);
    const phone = await secondDevice(alice);
    expect((await alice.client.auth.me.query()).id).toBe(alice.id);

    await anon().auth.logout.mutate({ refreshToken: alice.refreshToken });
    await expectSignedOut(() => alice.client.auth.me.query());
    expect((await phone.client.auth.me.query()).id).toBe(alice.id);
  });

  it('reuse of a rotated refresh token ends the access tokens of its family', async () => {
    const alice = await signUp(server.url);
    const rotated = await anon().auth.refresh.mutate({ refreshToken: alice.refreshToken });
    rememberSecret(rotated.accessToken, rotated.refreshToken);
    const rotatedClient = apiClient(server.url, rotated.accessToken);
    expect((await rotatedClient.auth.me.query()).id).toBe(alice.id);

    await expectSignedOut(() => anon().auth.refresh.mutate({ refreshToken: alice.refreshToken }));
    await expectSignedOut(() => rotatedClient.auth.me.query());
    await expectSignedOut(() => alice.client.auth.me.query());
  });

  it("a password change ends the other devices' access, not the caller's", async () => {
    const alice = await signUp(server.url);
    const phone = await secondDevice(alice);
    expect((await phone.client.auth.me.query()).id).toBe(alice.id);
    const newPassword = 'changed-password-123';
    rememberSecret(newPassword);

    await alice.client.auth.changePassword.mutate({ currentPassword: alice.password, newPassword });
    await expectSignedOut(() => phone.client.auth.me.query());
    expect((await alice.client.auth.me.query()).id).toBe(alice.id);
  });

  it('refuses a validly signed token that names no session family', async () => {
    const alice = await signUp(server.url);
    const token = await new SignJWT({ role: 'user' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(alice.id))
      .setIssuer('fillpath')
      .setAudience('fillpath-api')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(env.JWT_SECRET));
    rememberSecret(token);
    await expectSignedOut(() => apiClient(server.url, token).auth.me.query());
  });

  it('a revocation made elsewhere (another api instance) takes effect within seconds', async () => {
    const alice = await signUp(server.url);
    expect((await alice.client.auth.me.query()).id).toBe(alice.id);
    await db().update(sessions).set({ revokedAt: new Date() }).where(eq(sessions.userId, alice.id));
    // Cached answers live 5 s; allow for a loaded machine.
    const signedOut = () =>
      alice.client.auth.me.query().then(
        () => false,
        (error: { data?: { code?: string } }) => error.data?.code === 'UNAUTHORIZED',
      );
    await waitFor(signedOut, 8_000, 250);
  });
});

describe('disabled accounts', () => {
  async function signUpAdmin(): Promise<SignedInUser> {
    const user = await signUp(server.url, 'Admin');
    await db().update(users).set({ role: 'admin' }).where(eq(users.id, user.id));
    const session = await secondDevice(user);
    return { ...user, ...session };
  }

  it('lose access at once, and a login with the right password is refused and audited', async () => {
    const admin = await signUpAdmin();
    const bob = await signUp(server.url);
    expect((await bob.client.auth.me.query()).id).toBe(bob.id);

    await admin.client.admin.users.disable.mutate({ userId: bob.id, disabled: true });
    await expectSignedOut(() => bob.client.auth.me.query());

    const refused = await trpcFailure(() => anon().auth.login.mutate({ email: bob.email, password: bob.password }));
    expect(refused.data?.code).toBe('FORBIDDEN');
    const wrong = await trpcFailure(() => anon().auth.login.mutate({ email: bob.email, password: 'not-his-password' }));
    expect(wrong.data?.code).toBe('UNAUTHORIZED');

    const audit = await db()
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.resourceType, 'user'), eq(auditLogs.resourceId, String(bob.id))));
    expect(audit.filter((row) => row.action.startsWith('auth.login'))).toEqual([
      expect.objectContaining({ action: 'auth.login_refused', userId: bob.id, newValue: { reason: 'disabled' } }),
      expect.objectContaining({ action: 'auth.login_failed', userId: bob.id }),
    ]);
  });
});
