import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLogs } from '../../drizzle/schema/audit_logs.ts';
import { routingRules } from '../../drizzle/schema/routing_rules.ts';
import { strategies } from '../../drizzle/schema/strategies.ts';
import { randomToken } from '../../server/lib/crypto.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type SignedInUser, signUp, trpcFailure } from '../helpers/client.ts';
import { insertStrategy as insertStrategyRow } from '../helpers/fixtures.ts';

let server: TestApp;
beforeAll(async () => {
  server = await startTestApp();
});
afterAll(() => server.close());

const db = () => server.deps.database.db;

const insertStrategy = (userId: number, name?: string) => insertStrategyRow(db(), userId, name);

async function connection(user: SignedInUser, name = `C-${randomToken(4)}`) {
  const created = await user.client.brokers.connect.mutate({
    broker: 'ibkr',
    name,
    credentials: { accountId: 'DU1234567' },
  });
  return created.id;
}

/** A user with one strategy and one connection, ready to be routed. */
async function wiredUser() {
  const user = await signUp(server.url);
  return { user, strategyId: await insertStrategy(user.id), brokerConnectionId: await connection(user) };
}

describe('routing rules', () => {
  it('creates a rule with defaults and with every setting, and lists them newest first', async () => {
    const { user, strategyId, brokerConnectionId } = await wiredUser();
    const plain = await user.client.routing.create.mutate({ strategyId, brokerConnectionId });
    expect(plain).toMatchObject({
      strategyId,
      brokerConnectionId,
      quantityMultiplier: '1.00000000',
      symbolMap: null,
      priority: 0,
      isActive: true,
    });

    const second = await connection(user);
    const tuned = await user.client.routing.create.mutate({
      strategyId,
      brokerConnectionId: second,
      quantityMultiplier: '0.5',
      symbolMap: { 'MNQ1!': 'MNQZ5', 'CME_MINI:ES1!': 'ESZ5', BTCUSD: 'BTC/USD' },
      priority: -10,
      isActive: false,
    });
    expect(tuned).toMatchObject({
      quantityMultiplier: '0.50000000',
      symbolMap: { 'MNQ1!': 'MNQZ5', 'CME_MINI:ES1!': 'ESZ5', BTCUSD: 'BTC/USD' },
      priority: -10,
      isActive: false,
    });

    const other = await insertStrategy(user.id);
    const third = await user.client.routing.create.mutate({ strategyId: other, brokerConnectionId });
    expect((await user.client.routing.list.query()).items.map((r) => r.id)).toEqual([third.id, tuned.id, plain.id]);
    expect((await user.client.routing.list.query({ strategyId })).items.map((r) => r.id)).toEqual([tuned.id, plain.id]);
    const page = await user.client.routing.list.query({ limit: 1 });
    expect(page).toMatchObject({ items: [{ id: third.id }], nextCursor: third.id });
  });

  it('refuses ids that are not the caller’s live rows without saying which one', async () => {
    const { user, strategyId, brokerConnectionId } = await wiredUser();
    const missingStrategy = await trpcFailure(() =>
      user.client.routing.create.mutate({ strategyId: 999_999_999, brokerConnectionId }),
    );
    const missingConnection = await trpcFailure(() =>
      user.client.routing.create.mutate({ strategyId, brokerConnectionId: 999_999_999 }),
    );
    expect(missingStrategy.data?.code).toBe('NOT_FOUND');
    expect(missingConnection.message).toBe(missingStrategy.message);

    await db().update(strategies).set({ deletedAt: new Date() }).where(eq(strategies.id, strategyId));
    const deletedStrategy = await trpcFailure(() =>
      user.client.routing.create.mutate({ strategyId, brokerConnectionId }),
    );
    expect(deletedStrategy.data?.code).toBe('NOT_FOUND');

    const fresh = await insertStrategy(user.id);
    await user.client.brokers.disconnect.mutate({ id: brokerConnectionId });
    const disconnected = await trpcFailure(() =>
      user.client.routing.create.mutate({ strategyId: fresh, brokerConnectionId }),
    );
    expect(disconnected.data?.code).toBe('NOT_FOUND');
  });

  it('refuses a second live rule for the same strategy and connection, but allows one after a delete', async () => {
    const { user, strategyId, brokerConnectionId } = await wiredUser();
    const first = await user.client.routing.create.mutate({ strategyId, brokerConnectionId });
    const again = await trpcFailure(() => user.client.routing.create.mutate({ strategyId, brokerConnectionId }));
    expect(again.data?.appCode).toBe('conflict');

    expect(await user.client.routing.delete.mutate({ id: first.id })).toEqual({ ok: true });
    const [deleted] = await db().select().from(routingRules).where(eq(routingRules.id, first.id));
    expect(deleted).toMatchObject({ isActive: false, deletedBy: user.id });
    await user.client.routing.create.mutate({ strategyId, brokerConnectionId });

    const gone = await trpcFailure(() => user.client.routing.delete.mutate({ id: first.id }));
    expect(gone.data?.code).toBe('NOT_FOUND');
  });

  it('validates multipliers as decimal strings, symbol maps and priorities with field errors', async () => {
    const { user, strategyId, brokerConnectionId } = await wiredUser();
    const create = (extra: Record<string, unknown>) =>
      trpcFailure(() => user.client.routing.create.mutate({ strategyId, brokerConnectionId, ...extra }));
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ quantityMultiplier: '0' }, 'quantityMultiplier'],
      [{ quantityMultiplier: '-1' }, 'quantityMultiplier'],
      [{ quantityMultiplier: '1e3' }, 'quantityMultiplier'],
      [{ quantityMultiplier: '0.123456789' }, 'quantityMultiplier'],
      [{ quantityMultiplier: 2 }, 'quantityMultiplier'],
      [{ symbolMap: { 'ES1!': '' } }, 'symbolMap'],
      [{ symbolMap: { 'ES 1!': 'ESZ5' } }, 'symbolMap'],
      [{ symbolMap: { 'ES1!': '<script>' } }, 'symbolMap'],
      [{ symbolMap: { ['x'.repeat(33)]: 'ESZ5' } }, 'symbolMap'],
      [{ symbolMap: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`S${i}`, 'X'])) }, 'symbolMap'],
      [{ priority: 1001 }, 'priority'],
      [{ priority: 1.5 }, 'priority'],
      [{ userId: 1 }, ''],
    ];
    for (const [extra, field] of cases) {
      const error = await create(extra);
      expect(error.data?.appCode, JSON.stringify(extra)).toBe('validation-failed');
      if (field) expect(error.data?.zodError?.fieldErrors, JSON.stringify(extra)).toHaveProperty(field);
    }
    expect((await user.client.routing.list.query()).items).toEqual([]);
  });

  it('refuses symbols that would reach an object prototype (sent raw: the typed client will not send them)', async () => {
    const { user, strategyId, brokerConnectionId } = await wiredUser();
    const send = async (symbolMap: string) => {
      const response = await fetch(`${server.url}/api/v1/trpc/routing.create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${user.accessToken}` },
        body: `{"json":{"strategyId":${strategyId},"brokerConnectionId":${brokerConnectionId},"symbolMap":${symbolMap}}}`,
      });
      return { status: response.status, body: await response.text() };
    };
    for (const key of ['constructor', 'prototype']) {
      const answer = await send(`{"${key}":"ESZ5"}`);
      expect(answer.status).toBe(400);
      expect(answer.body).toContain('validation-failed');
    }
    // zod drops `__proto__` keys itself, so such a map is stored without it.
    expect((await send('{"__proto__":{"polluted":"yes"},"ES1!":"ESZ5"}')).status).toBe(200);
    const [rule] = (await user.client.routing.list.query()).items;
    expect(rule?.symbolMap).toEqual({ 'ES1!': 'ESZ5' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('updates settings, clears the symbol map with null, and audits every change', async () => {
    const { user, strategyId, brokerConnectionId } = await wiredUser();
    const rule = await user.client.routing.create.mutate({
      strategyId,
      brokerConnectionId,
      symbolMap: { 'ES1!': 'ESZ5' },
    });
    const updated = await user.client.routing.update.mutate({
      id: rule.id,
      quantityMultiplier: '2.25',
      priority: 5,
      isActive: false,
    });
    expect(updated).toMatchObject({
      quantityMultiplier: '2.25000000',
      priority: 5,
      isActive: false,
      symbolMap: { 'ES1!': 'ESZ5' },
      strategyId,
      brokerConnectionId,
    });
    const cleared = await user.client.routing.update.mutate({ id: rule.id, symbolMap: null });
    expect(cleared.symbolMap).toBeNull();

    const empty = await trpcFailure(() => user.client.routing.update.mutate({ id: rule.id }));
    expect(empty.data?.zodError?.formErrors).toEqual(['nothing to update']);
    const moving = await trpcFailure(() =>
      // @ts-expect-error a rule's strategy cannot change
      user.client.routing.update.mutate({ id: rule.id, strategyId }),
    );
    expect(moving.data?.appCode).toBe('validation-failed');
    await user.client.routing.delete.mutate({ id: rule.id });

    const audit = await db()
      .select()
      .from(auditLogs)
      .where(eq(auditLogs.resourceType, 'routing_rule'))
      .orderBy(auditLogs.id);
    const mine = audit.filter((row) => row.resourceId === String(rule.id));
    expect(mine.map((row) => row.action)).toEqual([
      'routing_rule.create',
      'routing_rule.update',
      'routing_rule.update',
      'routing_rule.delete',
    ]);
    expect(mine.every((row) => row.userId === user.id)).toBe(true);
    expect(mine[1]?.oldValue).toMatchObject({ quantityMultiplier: '1.00000000', priority: 0, isActive: true });
    expect(mine[1]?.newValue).toMatchObject({ quantityMultiplier: '2.25000000', priority: 5, isActive: false });
    expect(mine[2]?.newValue).toMatchObject({ symbolMap: null });
  });
});
