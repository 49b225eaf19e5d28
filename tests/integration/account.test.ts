import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLogs } from '../../drizzle/schema/audit_logs.ts';
import { users } from '../../drizzle/schema/users.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiClient, signUp, trpcFailure } from '../helpers/client.ts';

let server: TestApp;
beforeAll(async () => {
  server = await startTestApp();
});
afterAll(() => server.close());

const db = () => server.deps.database.db;

describe('account', () => {
  it('shows the caller’s account with trading enabled by default, and nothing secret', async () => {
    const alice = await signUp(server.url, 'Alice');
    const account = await alice.client.account.get.query();
    expect(account).toEqual({
      id: alice.id,
      email: alice.email,
      name: 'Alice',
      role: 'user',
      tradingEnabled: true,
      tradingLockedByAdmin: false,
      lastLoginAt: null,
      createdAt: expect.any(Date),
    });
    expect(JSON.stringify(account)).not.toMatch(/password|hash/i);
    // auth.me is the same view from the same service.
    expect(await alice.client.auth.me.query()).toEqual(account);
  });

  it('lets the trader flip the kill switch, stores it and audits every press', async () => {
    const alice = await signUp(server.url);
    expect(await alice.client.account.setTradingEnabled.mutate({ enabled: false })).toEqual({
      tradingEnabled: false,
      tradingLockedByAdmin: false,
    });
    expect((await alice.client.account.get.query()).tradingEnabled).toBe(false);
    const [row] = await db().select({ on: users.tradingEnabled }).from(users).where(eq(users.id, alice.id));
    expect(row?.on).toBe(false);

    await alice.client.account.setTradingEnabled.mutate({ enabled: false });
    await alice.client.account.setTradingEnabled.mutate({ enabled: true });
    expect((await alice.client.account.get.query()).tradingEnabled).toBe(true);

    const audit = await db()
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.userId, alice.id), eq(auditLogs.action, 'user.trading_enabled')))
      .orderBy(auditLogs.id);
    expect(audit.map((r) => [r.resourceId, r.oldValue, r.newValue])).toEqual([
      [String(alice.id), { tradingEnabled: true }, { tradingEnabled: false }],
      [String(alice.id), { tradingEnabled: false }, { tradingEnabled: false }],
      [String(alice.id), { tradingEnabled: false }, { tradingEnabled: true }],
    ]);
  });

  it('changes only the caller’s switch', async () => {
    const alice = await signUp(server.url);
    const bob = await signUp(server.url);
    await alice.client.account.setTradingEnabled.mutate({ enabled: false });
    expect((await bob.client.account.get.query()).tradingEnabled).toBe(true);
  });

  it('needs a signed-in caller and a boolean', async () => {
    const anonymous = await trpcFailure(() =>
      apiClient(server.url).account.setTradingEnabled.mutate({ enabled: false }),
    );
    expect(anonymous.data?.code).toBe('UNAUTHORIZED');
    const alice = await signUp(server.url);
    const notBoolean = await trpcFailure(() =>
      // @ts-expect-error a string is not a switch position
      alice.client.account.setTradingEnabled.mutate({ enabled: 'false' }),
    );
    expect(notBoolean.data?.zodError?.fieldErrors).toHaveProperty('enabled');
  });
});
