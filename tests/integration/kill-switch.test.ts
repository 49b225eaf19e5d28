/**
 * The two halves of the kill switch: the trader's own switch (users.trading_enabled) and the admins' lock
 * (users.trading_locked_at), which the trader cannot lift. Trading runs only while the switch is on and no lock is set.
 */
import { and, asc, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLogs } from '../../drizzle/schema/audit_logs.ts';
import { users } from '../../drizzle/schema/users.ts';
import { tradingAllowed, tradingAllowedSql } from '../../server/services/account/trading-allowed.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiClient, type SignedInUser, signUp } from '../helpers/client.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { rememberSecret } from '../helpers/secrets.ts';

const { db } = useTestDatabase();
let server: TestApp;
let admin: SignedInUser;
beforeAll(async () => {
  server = await startTestApp();
  const user = await signUp(server.url, 'Admin');
  await db.update(users).set({ role: 'admin' }).where(eq(users.id, user.id));
  // Signed in again, so the token carries the role.
  const session = await apiClient(server.url).auth.login.mutate({ email: user.email, password: user.password });
  rememberSecret(session.accessToken, session.refreshToken);
  admin = { ...user, accessToken: session.accessToken, client: apiClient(server.url, session.accessToken) };
});
afterAll(() => server.close());

const lock = (userId: number) => admin.client.admin.users.setTradingEnabled.mutate({ userId, enabled: false });
const unlock = (userId: number) => admin.client.admin.users.setTradingEnabled.mutate({ userId, enabled: true });

async function stored(userId: number) {
  const [row] = await db
    .select({
      tradingEnabled: users.tradingEnabled,
      tradingLockedAt: users.tradingLockedAt,
      tradingLockedBy: users.tradingLockedBy,
    })
    .from(users)
    .where(eq(users.id, userId));
  if (!row) throw new Error(`user ${userId} is gone`);
  return { ...row, allowed: tradingAllowed(row) };
}

describe('kill switch', () => {
  it('an admin’s lock stops trading, and the trader’s own switch cannot lift it', async () => {
    const bob = await signUp(server.url);
    const locked = await lock(bob.id);
    expect(locked).toMatchObject({ id: bob.id, tradingEnabled: true, tradingLockedBy: admin.id });
    expect(locked.tradingLockedAt).toBeInstanceOf(Date);
    expect(await stored(bob.id)).toMatchObject({ tradingEnabled: true, tradingLockedBy: admin.id, allowed: false });

    // Before the fix the trader's `enabled: true` overwrote the admin's stop.
    expect(await bob.client.account.setTradingEnabled.mutate({ enabled: true })).toEqual({
      tradingEnabled: true,
      tradingLockedByAdmin: true,
    });
    expect(await stored(bob.id)).toMatchObject({ tradingEnabled: true, allowed: false });
    for (const view of [await bob.client.account.get.query(), await bob.client.auth.me.query()]) {
      expect(view).toMatchObject({ tradingEnabled: true, tradingLockedByAdmin: true });
    }
    const listed = await admin.client.admin.users.list.query({ search: bob.email });
    expect(listed.items).toEqual([expect.objectContaining({ id: bob.id, tradingLockedAt: locked.tradingLockedAt })]);
  });

  it('unlocking lifts only the admin’s lock: a trader who switched off stays off until they switch on', async () => {
    const bob = await signUp(server.url);
    await bob.client.account.setTradingEnabled.mutate({ enabled: false });
    await lock(bob.id);
    const unlocked = await unlock(bob.id);
    expect(unlocked).toMatchObject({ tradingEnabled: false, tradingLockedAt: null, tradingLockedBy: null });
    expect(await stored(bob.id)).toMatchObject({ tradingEnabled: false, tradingLockedAt: null, allowed: false });
    expect(await bob.client.account.get.query()).toMatchObject({ tradingEnabled: false, tradingLockedByAdmin: false });

    await bob.client.account.setTradingEnabled.mutate({ enabled: true });
    expect((await stored(bob.id)).allowed).toBe(true);
  });

  it('locking again keeps the first lock; every press is audited under its own action', async () => {
    const bob = await signUp(server.url);
    const first = await lock(bob.id);
    const second = await lock(bob.id);
    expect(second.tradingLockedAt).toEqual(first.tradingLockedAt);
    await bob.client.account.setTradingEnabled.mutate({ enabled: false });
    await unlock(bob.id);

    const audit = await db
      .select()
      .from(auditLogs)
      .where(
        and(
          eq(auditLogs.resourceType, 'user'),
          eq(auditLogs.resourceId, String(bob.id)),
          inArray(auditLogs.action, ['user.trading_lock', 'user.trading_enabled']),
        ),
      )
      .orderBy(asc(auditLogs.id));
    expect(audit.map((r) => [r.action, r.actorType, r.userId, r.oldValue, r.newValue])).toEqual([
      ['user.trading_lock', 'admin', admin.id, { tradingLocked: false }, { tradingLocked: true }],
      ['user.trading_lock', 'admin', admin.id, { tradingLocked: true }, { tradingLocked: true }],
      ['user.trading_enabled', 'user', bob.id, { tradingEnabled: true }, { tradingEnabled: false }],
      ['user.trading_lock', 'admin', admin.id, { tradingLocked: true }, { tradingLocked: false }],
    ]);
  });

  it('tradingAllowed and its SQL form agree: enabled and not locked', async () => {
    const at = new Date();
    expect(tradingAllowed({ tradingEnabled: true, tradingLockedAt: null })).toBe(true);
    expect(tradingAllowed({ tradingEnabled: false, tradingLockedAt: null })).toBe(false);
    expect(tradingAllowed({ tradingEnabled: true, tradingLockedAt: at })).toBe(false);
    expect(tradingAllowed({ tradingEnabled: false, tradingLockedAt: at })).toBe(false);

    const [on, off, locked] = [await signUp(server.url), await signUp(server.url), await signUp(server.url)];
    await off.client.account.setTradingEnabled.mutate({ enabled: false });
    await lock(locked.id);
    const ids = [on.id, off.id, locked.id];
    const allowed = await db
      .select({ id: users.id })
      .from(users)
      .where(and(inArray(users.id, ids), tradingAllowedSql()));
    expect(allowed.map((r) => r.id)).toEqual([on.id]);
  });
});
