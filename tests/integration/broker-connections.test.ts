import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLogs } from '../../drizzle/schema/audit_logs.ts';
import { brokerConnections } from '../../drizzle/schema/broker_connections.ts';
import { routingRules } from '../../drizzle/schema/routing_rules.ts';
import { aadFor, DecryptionError, decryptSecret } from '../../server/lib/crypto.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type SignedInUser, signUp, trpcFailure } from '../helpers/client.ts';
import { insertStrategy as insertStrategyRow } from '../helpers/fixtures.ts';
import { rememberSecret } from '../helpers/secrets.ts';

let server: TestApp;
beforeAll(async () => {
  server = await startTestApp();
});
afterAll(() => server.close());

const db = () => server.deps.database.db;

const ALPACA = { keyId: 'PKTESTKEY0000000WXYZ', secretKey: 'alpaca-secret-0123456789abcdef' };
const TRADOVATE = {
  name: 'tradovate-user-alice',
  password: 'tradovate-password-42',
  appId: 'Fillpath',
  appVersion: '1.0',
  cid: 8123,
  sec: 'tradovate-api-secret-f00d',
};
const SECRETS = [ALPACA.keyId, ALPACA.secretKey, TRADOVATE.password, TRADOVATE.sec];
rememberSecret(...SECRETS, 'rotated-alpaca-secret-9876', 'a-new-password-1');

function expectNoSecrets(value: unknown) {
  const raw = JSON.stringify(value);
  for (const secret of SECRETS) expect(raw).not.toContain(secret);
  expect(raw).not.toContain('credentialsEnc');
  expect(raw).not.toMatch(/v1:[A-Za-z0-9_-]+:/);
}

async function storedRow(id: number) {
  const [row] = await db().select().from(brokerConnections).where(eq(brokerConnections.id, id));
  if (!row) throw new Error(`no connection ${id}`);
  return row;
}

async function auditRows(userId: number) {
  return db().select().from(auditLogs).where(eq(auditLogs.userId, userId)).orderBy(auditLogs.id);
}

const insertStrategy = (userId: number, name?: string) => insertStrategyRow(db(), userId, name);

const connectAlpaca = (user: SignedInUser, name = 'Alpaca paper') =>
  user.client.brokers.connect.mutate({ broker: 'alpaca', name, environment: 'paper', credentials: ALPACA });

describe('connect and getConnections', () => {
  it('stores each broker with safe answers only and lists them newest first', async () => {
    const alice = await signUp(server.url);
    const alpaca = await connectAlpaca(alice);
    const tradovate = await alice.client.brokers.connect.mutate({
      broker: 'tradovate',
      name: 'Tradovate demo',
      credentials: TRADOVATE,
    });
    const ibkr = await alice.client.brokers.connect.mutate({
      broker: 'ibkr',
      name: 'IBKR',
      environment: 'live',
      credentials: { accountId: 'DU1234567' },
    });

    expect(alpaca).toMatchObject({
      broker: 'alpaca',
      name: 'Alpaca paper',
      environment: 'paper',
      status: 'unknown',
      accountId: null,
      credentialHint: '…WXYZ',
      lastCheckedAt: null,
    });
    expect(tradovate).toMatchObject({ environment: 'paper', credentialHint: '…lice', accountId: null });
    expect(ibkr).toMatchObject({ environment: 'live', accountId: 'DU1234567', credentialHint: null });
    const safeFields = 'accountId broker createdAt credentialHint environment id lastCheckedAt name sessionExpiresAt';
    expect(Object.keys(alpaca).sort()).toEqual(`${safeFields} status statusMessage`.split(' '));

    const list = await alice.client.brokers.getConnections.query();
    expect(list.items.map((c) => c.id)).toEqual([ibkr.id, tradovate.id, alpaca.id]);
    expectNoSecrets([alpaca, tradovate, ibkr, list]);

    const firstPage = await alice.client.brokers.getConnections.query({ limit: 2 });
    expect(firstPage.items).toHaveLength(2);
    const secondPage = await alice.client.brokers.getConnections.query({ limit: 2, cursor: firstPage.nextCursor ?? 0 });
    expect(secondPage).toMatchObject({ items: [{ id: alpaca.id }], nextCursor: null });
  });

  it('encrypts credentials bound to their row and gives Tradovate a stable device id', async () => {
    const alice = await signUp(server.url);
    const alpaca = await connectAlpaca(alice);
    const tradovate = await alice.client.brokers.connect.mutate({
      broker: 'tradovate',
      name: 'TV',
      credentials: TRADOVATE,
    });

    const alpacaRow = await storedRow(alpaca.id);
    expect(alpacaRow.credentialsEnc).not.toContain(ALPACA.secretKey);
    expect(JSON.parse(decryptSecret(alpacaRow.credentialsEnc, aadFor('broker_connections', alpaca.id)))).toEqual(
      ALPACA,
    );
    expect(() => decryptSecret(alpacaRow.credentialsEnc, aadFor('broker_connections', tradovate.id))).toThrow(
      DecryptionError,
    );

    const tradovateRow = await storedRow(tradovate.id);
    const stored = JSON.parse(decryptSecret(tradovateRow.credentialsEnc, aadFor('broker_connections', tradovate.id)));
    expect(stored).toEqual({ ...TRADOVATE, deviceId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });

  it('refuses malformed credentials with field errors', async () => {
    const alice = await signUp(server.url);
    const missing = await trpcFailure(() =>
      alice.client.brokers.connect.mutate({
        broker: 'alpaca',
        name: 'A',
        // @ts-expect-error the secret is missing on purpose
        credentials: { keyId: ALPACA.keyId },
      }),
    );
    expect(missing.data?.appCode).toBe('validation-failed');
    expect(missing.data?.zodError?.fieldErrors).toHaveProperty('credentials');

    const wrongBroker = await trpcFailure(() =>
      // @ts-expect-error Tradovate credentials on an Alpaca connection
      alice.client.brokers.connect.mutate({ broker: 'alpaca', name: 'A', credentials: TRADOVATE }),
    );
    expect(wrongBroker.data?.zodError?.fieldErrors).toHaveProperty('credentials');
    // Refusals name fields, never echo the values.
    expectNoSecrets([wrongBroker.message, wrongBroker.data, missing.message, missing.data]);

    const extra = await trpcFailure(() =>
      alice.client.brokers.connect.mutate({
        broker: 'ibkr',
        name: 'A',
        // @ts-expect-error unknown keys are refused, not ignored
        credentials: { accountId: 'DU1', password: 'x' },
      }),
    );
    expect(extra.data?.code).toBe('BAD_REQUEST');
    const noName = await trpcFailure(() =>
      alice.client.brokers.connect.mutate({ broker: 'ibkr', name: '  ', credentials: { accountId: 'DU1' } }),
    );
    expect(noName.data?.zodError?.fieldErrors).toHaveProperty('name');
    expect(await alice.client.brokers.getConnections.query()).toEqual({ items: [], nextCursor: null });
  });

  it('refuses a second live connection with the same name, and stores names as inert text', async () => {
    const alice = await signUp(server.url);
    const first = await connectAlpaca(alice, 'Main');
    const duplicate = await trpcFailure(() => connectAlpaca(alice, 'Main'));
    expect(duplicate.data?.appCode).toBe('conflict');
    // Another user may use the same name.
    await connectAlpaca(await signUp(server.url), 'Main');

    const xss = await connectAlpaca(alice, '<img src=x onerror=alert(1)>Paper <b>two</b>');
    expect(xss.name).toBe('Paper two');
    expect((await storedRow(xss.id)).name).toBe('Paper two');
    const onlyMarkup = await trpcFailure(() => connectAlpaca(alice, '<script>alert(1)</script>'));
    expect(onlyMarkup.data?.appCode).toBe('validation-failed');

    await alice.client.brokers.disconnect.mutate({ id: first.id });
    expect((await connectAlpaca(alice, 'Main')).name).toBe('Main');
  });
});

describe('updateConnection', () => {
  it('renames, replaces credentials (re-encrypted, status reset) and audits without secrets', async () => {
    const alice = await signUp(server.url);
    const connection = await connectAlpaca(alice);
    await db()
      .update(brokerConnections)
      .set({ status: 'connected', accountId: 'PA123', lastCheckedAt: new Date(), statusMessage: 'ok' })
      .where(eq(brokerConnections.id, connection.id));

    const renamed = await alice.client.brokers.updateConnection.mutate({ id: connection.id, name: 'Renamed' });
    expect(renamed).toMatchObject({ name: 'Renamed', status: 'connected', accountId: 'PA123' });

    const newKeys = { keyId: 'PKROTATED000000ABCD', secretKey: 'rotated-alpaca-secret-9876' };
    const updated = await alice.client.brokers.updateConnection.mutate({ id: connection.id, credentials: newKeys });
    expect(updated).toMatchObject({
      status: 'unknown',
      accountId: null,
      statusMessage: null,
      lastCheckedAt: null,
      credentialHint: '…ABCD',
    });
    const row = await storedRow(connection.id);
    expect(JSON.parse(decryptSecret(row.credentialsEnc, aadFor('broker_connections', connection.id)))).toEqual(newKeys);

    // By type too: the user's own rows (auth.register) carry the user id, which may equal the connection id.
    const audit = (await auditRows(alice.id)).filter(
      (r) => r.resourceType === 'broker_connection' && r.resourceId === String(connection.id),
    );
    expect(audit.map((r) => r.action)).toEqual([
      'broker_connection.connect',
      'broker_connection.update',
      'broker_connection.update',
    ]);
    expect(audit[2]?.newValue).toMatchObject({ status: 'unknown', changed: ['credentials'] });
    const raw = JSON.stringify(audit);
    for (const secret of [...SECRETS, newKeys.keyId, newKeys.secretKey]) expect(raw).not.toContain(secret);
  });

  it('keeps the Tradovate device id when new credentials leave it out', async () => {
    const alice = await signUp(server.url);
    const connection = await alice.client.brokers.connect.mutate({
      broker: 'tradovate',
      name: 'TV',
      credentials: { ...TRADOVATE, deviceId: 'device-0001' },
    });
    await alice.client.brokers.updateConnection.mutate({
      id: connection.id,
      credentials: { ...TRADOVATE, password: 'a-new-password-1' },
    });
    const row = await storedRow(connection.id);
    const stored = JSON.parse(decryptSecret(row.credentialsEnc, aadFor('broker_connections', connection.id)));
    expect(stored).toMatchObject({ password: 'a-new-password-1', deviceId: 'device-0001' });
  });

  it('refuses credentials of another broker, an empty update, a taken name and a gone connection', async () => {
    const alice = await signUp(server.url);
    const connection = await connectAlpaca(alice);
    await connectAlpaca(alice, 'Other');
    const wrong = await trpcFailure(() =>
      alice.client.brokers.updateConnection.mutate({ id: connection.id, credentials: { accountId: 'DU99' } }),
    );
    expect(wrong.data?.appCode).toBe('validation-failed');
    expect(wrong.message).toContain('keyId, secretKey');

    const empty = await trpcFailure(() => alice.client.brokers.updateConnection.mutate({ id: connection.id }));
    expect(empty.data?.zodError?.formErrors).toEqual(['give a new name or new credentials']);

    const taken = await trpcFailure(() =>
      alice.client.brokers.updateConnection.mutate({ id: connection.id, name: 'Other' }),
    );
    expect(taken.data?.appCode).toBe('conflict');

    await alice.client.brokers.disconnect.mutate({ id: connection.id });
    const gone = await trpcFailure(() =>
      alice.client.brokers.updateConnection.mutate({ id: connection.id, name: 'Back' }),
    );
    expect(gone.data?.code).toBe('NOT_FOUND');
  });
});

describe('disconnect', () => {
  it('soft-deletes the connection and deactivates its routing rules in the same change', async () => {
    const alice = await signUp(server.url);
    const connection = await connectAlpaca(alice);
    const keep = await connectAlpaca(alice, 'Keep');
    const strategyA = await insertStrategy(alice.id, 'A');
    const strategyB = await insertStrategy(alice.id, 'B');
    const ruleA = await alice.client.routing.create.mutate({
      strategyId: strategyA,
      brokerConnectionId: connection.id,
    });
    const ruleB = await alice.client.routing.create.mutate({
      strategyId: strategyB,
      brokerConnectionId: connection.id,
    });
    const kept = await alice.client.routing.create.mutate({ strategyId: strategyA, brokerConnectionId: keep.id });

    expect(await alice.client.brokers.disconnect.mutate({ id: connection.id })).toEqual({
      ok: true,
      routingRulesDeactivated: 2,
    });

    const row = await storedRow(connection.id);
    expect(row).toMatchObject({ status: 'disconnected', deletedBy: alice.id });
    expect(row.deletedAt).toBeInstanceOf(Date);
    const rules = await db().select().from(routingRules).where(eq(routingRules.brokerConnectionId, connection.id));
    expect(rules.map((r) => [r.id, r.isActive, r.deletedAt !== null])).toEqual(
      expect.arrayContaining([
        [ruleA.id, false, true],
        [ruleB.id, false, true],
      ]),
    );
    expect((await alice.client.routing.list.query()).items.map((r) => r.id)).toEqual([kept.id]);
    expect((await alice.client.brokers.getConnections.query()).items.map((c) => c.id)).toEqual([keep.id]);

    const audit = await auditRows(alice.id);
    expect(audit.find((r) => r.action === 'broker_connection.disconnect')?.newValue).toEqual({
      status: 'disconnected',
      routingRuleIds: expect.arrayContaining([ruleA.id, ruleB.id]),
    });
    const ruleDeletes = audit.filter((r) => r.action === 'routing_rule.delete');
    expect(ruleDeletes.map((r) => Number(r.resourceId)).sort()).toEqual([ruleA.id, ruleB.id].sort());
    expectNoSecrets(audit);

    const again = await trpcFailure(() => alice.client.brokers.disconnect.mutate({ id: connection.id }));
    expect(again.data?.code).toBe('NOT_FOUND');
  });
});
