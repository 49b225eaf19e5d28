import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLogs } from '../../drizzle/schema/audit_logs.ts';
import { users } from '../../drizzle/schema/users.ts';
import { logger } from '../../server/lib/logger.ts';
import { promoteByEmail } from '../../server/services/admin/promote-by-email.ts';
import { NotFound } from '../../server/services/errors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type ApiClient, apiClient, type SignedInUser, signUp, trpcFailure } from '../helpers/client.ts';
import { useTestDatabase } from '../helpers/db.ts';

const { db } = useTestDatabase();
let server: TestApp;
beforeAll(async () => {
  // This file signs in more often than the per-address login budget allows.
  server = await startTestApp({ rateLimits: { loginPerIp: { points: 1_000, durationS: 900 } } });
});
afterAll(() => server.close());

/** A fresh user promoted in the database, signed in again so their token carries the role. */
async function signUpAdmin(): Promise<SignedInUser> {
  const user = await signUp(server.url, 'Admin');
  await db.update(users).set({ role: 'admin' }).where(eq(users.id, user.id));
  const session = await apiClient(server.url).auth.login.mutate({ email: user.email, password: user.password });
  return { ...user, accessToken: session.accessToken, client: apiClient(server.url, session.accessToken) };
}

/** Every admin procedure, called with harmless input. */
function everyAdminCall(client: ApiClient, targetId: number): [string, () => Promise<unknown>][] {
  return [
    ['audit.list', () => client.admin.audit.list.query({})],
    ['users.list', () => client.admin.users.list.query({})],
    ['users.setRole', () => client.admin.users.setRole.mutate({ userId: targetId, role: 'admin' })],
    ['users.disable', () => client.admin.users.disable.mutate({ userId: targetId, disabled: true })],
    [
      'users.setTradingEnabled',
      () => client.admin.users.setTradingEnabled.mutate({ userId: targetId, enabled: false }),
    ],
  ];
}

async function auditRows(resourceId: number) {
  return db
    .select()
    .from(auditLogs)
    .where(and(eq(auditLogs.resourceType, 'user'), eq(auditLogs.resourceId, String(resourceId))))
    .orderBy(asc(auditLogs.id));
}

describe('access', () => {
  it('answers UNAUTHORIZED without a token and FORBIDDEN to a non-admin, on every admin procedure', async () => {
    const alice = await signUp(server.url);
    for (const [name, call] of everyAdminCall(apiClient(server.url), alice.id)) {
      expect([name, (await trpcFailure(call)).data?.code]).toEqual([name, 'UNAUTHORIZED']);
    }
    for (const [name, call] of everyAdminCall(alice.client, alice.id)) {
      expect([name, (await trpcFailure(call)).data?.code]).toEqual([name, 'FORBIDDEN']);
    }
    const [row] = await db.select().from(users).where(eq(users.id, alice.id));
    expect(row).toMatchObject({ role: 'user', tradingEnabled: true, disabledAt: null });
  });

  it('takes admin access away at once when the role is removed, even with a token that still says admin', async () => {
    const admin = await signUpAdmin();
    const other = await signUpAdmin();
    await other.client.admin.users.setRole.mutate({ userId: admin.id, role: 'user' });
    expect((await trpcFailure(() => admin.client.admin.users.list.query({}))).data?.code).toBe('FORBIDDEN');
  });
});

describe('users', () => {
  it('lists accounts with safe fields only, searches literally and pages without overlap', async () => {
    const admin = await signUpAdmin();
    const tag = `Zed${Date.now()}`;
    for (const n of [1, 2, 3]) await signUp(server.url, `${tag} ${n}`);
    const first = await admin.client.admin.users.list.query({ search: tag, limit: 2 });
    expect(first.items.map((u) => u.name)).toEqual([`${tag} 3`, `${tag} 2`]);
    expect(Object.keys(first.items[0] ?? {}).sort()).toEqual(
      [
        'createdAt',
        'disabledAt',
        'email',
        'id',
        'lastLoginAt',
        'name',
        'role',
        'tradingEnabled',
        'tradingLockedAt',
        'tradingLockedBy',
      ].sort(),
    );
    const second = await admin.client.admin.users.list.query({ search: tag, limit: 2, cursor: first.nextCursor ?? 0 });
    expect(second).toMatchObject({ items: [{ name: `${tag} 1` }], nextCursor: null });
    // `%` is a character to find, not a wildcard.
    expect((await admin.client.admin.users.list.query({ search: '%' })).items).toEqual([]);
  });

  it('sets the role and the trading kill switch, auditing each change as an admin action', async () => {
    const admin = await signUpAdmin();
    const bob = await signUp(server.url);
    expect(await admin.client.admin.users.setRole.mutate({ userId: bob.id, role: 'admin' })).toMatchObject({
      id: bob.id,
      role: 'admin',
    });
    const off = await admin.client.admin.users.setTradingEnabled.mutate({ userId: bob.id, enabled: false });
    expect(off.tradingLockedAt).toBeInstanceOf(Date);
    const [row] = await db.select().from(users).where(eq(users.id, bob.id));
    // The admin's lock, not the trader's own switch (tests/integration/kill-switch.test.ts).
    expect(row).toMatchObject({ role: 'admin', tradingEnabled: true, tradingLockedBy: admin.id });

    const audit = await auditRows(bob.id);
    expect(audit.filter((r) => r.actorType === 'admin')).toEqual([
      expect.objectContaining({
        action: 'user.set_role',
        userId: admin.id,
        oldValue: { role: 'user' },
        newValue: { role: 'admin' },
      }),
      expect.objectContaining({
        action: 'user.trading_lock',
        userId: admin.id,
        oldValue: { tradingLocked: false },
        newValue: { tradingLocked: true },
      }),
    ]);
    const missing = await trpcFailure(() => admin.client.admin.users.setRole.mutate({ userId: 999_999, role: 'user' }));
    expect(missing.data?.code).toBe('NOT_FOUND');
  });

  it('refuses to let an admin demote or disable themself', async () => {
    const admin = await signUpAdmin();
    const demote = await trpcFailure(() => admin.client.admin.users.setRole.mutate({ userId: admin.id, role: 'user' }));
    expect(demote.data?.code).toBe('PRECONDITION_FAILED');
    const disable = await trpcFailure(() =>
      admin.client.admin.users.disable.mutate({ userId: admin.id, disabled: true }),
    );
    expect(disable.data?.code).toBe('PRECONDITION_FAILED');
    const [row] = await db.select().from(users).where(eq(users.id, admin.id));
    expect(row).toMatchObject({ role: 'admin', disabledAt: null });
  });

  it('disabling revokes sessions: the user cannot refresh or log in until re-enabled', async () => {
    const admin = await signUpAdmin();
    const bob = await signUp(server.url);
    const anon = apiClient(server.url);
    const disabled = await admin.client.admin.users.disable.mutate({ userId: bob.id, disabled: true });
    expect(disabled.disabledAt).toBeInstanceOf(Date);

    expect((await trpcFailure(() => anon.auth.refresh.mutate({ refreshToken: bob.refreshToken }))).data?.code).toBe(
      'UNAUTHORIZED',
    );
    const login = await trpcFailure(() => anon.auth.login.mutate({ email: bob.email, password: bob.password }));
    expect(login.data?.code).toBe('FORBIDDEN');

    await admin.client.admin.users.disable.mutate({ userId: bob.id, disabled: false });
    expect((await anon.auth.login.mutate({ email: bob.email, password: bob.password })).user.id).toBe(bob.id);
    const actions = (await auditRows(bob.id)).filter((r) => r.actorType === 'admin');
    expect(actions.map((r) => [r.action, r.newValue])).toEqual([
      ['user.disable', { disabled: true, sessionsRevoked: 1 }],
      ['user.enable', { disabled: false }],
    ]);
  });
});

describe('audit.list', () => {
  it('filters by actor, action, resource and time, newest first, in pages that do not overlap', async () => {
    const admin = await signUpAdmin();
    const bob = await signUp(server.url);
    const list = admin.client.admin.audit.list.query;
    const start = new Date();
    for (const enabled of [false, true, false]) {
      await admin.client.admin.users.setTradingEnabled.mutate({ userId: bob.id, enabled });
    }
    const filter = { userId: admin.id, action: 'user.trading_lock' };

    const page1 = await list({ ...filter, limit: 2 });
    expect(page1.items.map((r) => r.newValue)).toEqual([{ tradingLocked: true }, { tradingLocked: false }]);
    const page2 = await list({ ...filter, limit: 2, cursor: page1.nextCursor ?? 0 });
    expect(page2.items.map((r) => r.newValue)).toEqual([{ tradingLocked: true }]);
    expect(page2.nextCursor).toBeNull();

    const byResource = await list({ resourceType: 'user', resourceId: String(bob.id) });
    expect(byResource.items.map((r) => r.action)).toEqual([
      'user.trading_lock',
      'user.trading_lock',
      'user.trading_lock',
      'auth.register',
    ]);
    expect((await list({ ...filter, to: start })).items).toEqual([]);
    expect((await list({ ...filter, from: start })).items).toHaveLength(3);
    expect((await list({ userId: bob.id })).items.every((r) => r.userId === bob.id)).toBe(true);
  });

  it('refuses a range whose start is not before its end, and a resource id without its type', async () => {
    const admin = await signUpAdmin();
    const at = new Date();
    const range = await trpcFailure(() => admin.client.admin.audit.list.query({ from: at, to: at }));
    expect(range.data?.zodError?.fieldErrors).toHaveProperty('to');
    const orphan = await trpcFailure(() => admin.client.admin.audit.list.query({ resourceId: '1' }));
    expect(orphan.data?.code).toBe('BAD_REQUEST');
  });
});

describe('scripts/create-admin.ts', () => {
  const run = promisify(execFile);
  const createAdmin = (...args: string[]) =>
    run(process.execPath, ['scripts/create-admin.ts', ...args], { env: process.env }).then(
      (result) => ({ code: 0, ...result }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );

  // One spawn (over a second each, several under load) for the script's happy path; the edge cases go to the
  // service it calls.
  it('promotes an existing user (audited as a system action) and says so; reruns and unknown emails', async () => {
    const carol = await signUp(server.url);
    const done = await createAdmin(carol.email);
    expect(done.code).toBe(0);
    expect(done.stdout.trim()).toBe(`admin:create: ${carol.email} (user ${carol.id}) is now an administrator`);
    const [row] = await db.select().from(users).where(eq(users.id, carol.id));
    expect(row?.role).toBe('admin');
    expect((await auditRows(carol.id)).find((r) => r.action === 'user.set_role')).toMatchObject({
      actorType: 'system',
      newValue: { role: 'admin' },
    });

    const ctx = { db, log: logger, requestId: 'create-admin-test', actor: { type: 'system' as const } };
    expect(await promoteByEmail(ctx, carol.email)).toEqual({ userId: carol.id, alreadyAdmin: true });
    await expect(promoteByEmail(ctx, 'nobody-at-all@example.com')).rejects.toBeInstanceOf(NotFound);
  }, 60_000);
});
