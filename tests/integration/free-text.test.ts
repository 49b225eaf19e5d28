/**
 * Every free-text field, fed markup and SQL-injection strings: stored and returned as plain text, never as markup, and
 * the SQL arrives as data (the tables are intact, the text is stored verbatim).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiClient, type SignedInUser, signUp } from '../helpers/client.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import { insertStaged } from './staging/fixtures.ts';

let server: TestApp;
let trader: SignedInUser;
beforeAll(async () => {
  server = await startTestApp();
  trader = await signUp(server.url);
});
afterAll(() => server.close());

const MARKUP = [
  '<script>alert(1)</script>Alpha',
  '<img src=x onerror=alert(1)>Beta',
  '&lt;svg onload=alert(1)&gt;&lt;/svg&gt;Gamma',
  '<a href="javascript:alert(1)">Delta</a>',
  '"><iframe src=//evil.example></iframe>Epsilon',
];
const SQL = ["Robert'); DROP TABLE strategies;--", "' OR '1'='1", '1; DELETE FROM users WHERE 1=1'];

/** A field: store `value` through the API and read back what the API returns for it. */
type Field = [name: string, roundTrip: (value: string) => Promise<string | null | undefined>];

let n = 0;
const FIELDS: Field[] = [
  [
    'user name',
    async (name) => {
      const password = `pw-${randomUUID()}`;
      rememberSecret(password);
      const email = `free-${++n}-${randomUUID().slice(0, 6)}@example.com`;
      const { accessToken } = await apiClient(server.url).auth.register.mutate({ email, password, name });
      rememberSecret(accessToken);
      return (await apiClient(server.url, accessToken).auth.me.query()).name;
    },
  ],
  [
    'strategy name',
    async (name) => {
      const { strategy, webhookToken } = await trader.client.strategies.create.mutate({ name: `${name} ${++n}` });
      rememberSecret(webhookToken);
      return (await trader.client.strategies.get.query({ id: strategy.id })).name;
    },
  ],
  [
    'strategy description',
    async (description) => {
      const { strategy, webhookToken } = await trader.client.strategies.create.mutate({ name: `D${++n}`, description });
      rememberSecret(webhookToken);
      return (await trader.client.strategies.get.query({ id: strategy.id })).description;
    },
  ],
  [
    'broker connection name',
    async (name) => {
      const created = await trader.client.brokers.connect.mutate({
        broker: 'ibkr',
        name: `${name} ${++n}`,
        credentials: { accountId: 'DU1234' },
      });
      const listed = await trader.client.brokers.getConnections.query({ limit: 100 });
      return listed.items.find((item) => item.id === created.id)?.name;
    },
  ],
  [
    'channel name',
    async (name) => {
      const created = await trader.client.notifications.channels.create.mutate({
        name: `${name} ${++n}`,
        target: { kind: 'discord', url: 'https://1.1.1.1/api/webhooks/1/free-text' },
      });
      const listed = await trader.client.notifications.channels.list.query({ limit: 100 });
      return listed.items.find((item) => item.id === created.id)?.name;
    },
  ],
  [
    'staged signal rejection reason',
    async (reason) => {
      const { id, webhookLogId } = await insertStaged(server.deps.database.db, await stagingStrategy());
      await trader.client.webhooks.rejectStaged.mutate({ id, reason });
      const staged = await trader.client.webhooks.getStaged.query({ status: 'rejected', limit: 100 });
      const log = await trader.client.webhooks.getLog.query({ id: webhookLogId });
      // Shown twice: as the decision's reason and in the signal's log.
      return `${staged.items.find((item) => item.id === id)?.decisionReason}\n${log.errorMessage}`;
    },
  ],
];

let stagingStrategyId: number | undefined;
/** The trader's strategy that the staged signals belong to (signals are staged directly, as the engine does). */
async function stagingStrategy(): Promise<number> {
  if (stagingStrategyId === undefined) {
    const { strategy, webhookToken } = await trader.client.strategies.create.mutate({ name: 'Staging review' });
    rememberSecret(webhookToken);
    stagingStrategyId = strategy.id;
  }
  return stagingStrategyId;
}

describe.each(FIELDS)('%s', (_field, roundTrip) => {
  it.each(MARKUP)('keeps no markup from %s', async (input) => {
    const stored = await roundTrip(input);
    expect(stored).toBeTruthy();
    expect(stored).not.toMatch(/<[a-z/!]|on\w+=|javascript:/i);
    expect(stored).toMatch(/Alpha|Beta|Gamma|Delta|Epsilon/);
  });

  it.each(SQL)('stores %s verbatim, as data', async (input) => {
    expect(await roundTrip(input)).toContain(input);
  });
});

describe('after the injection attempts', () => {
  it('every table is intact and the trader still signs in', async () => {
    const strategies = await trader.client.strategies.list.query({ limit: 100, includeInactive: true });
    expect(strategies.items.length).toBeGreaterThan(0);
    await expect(
      apiClient(server.url).auth.login.mutate({ email: trader.email, password: trader.password }),
    ).resolves.toMatchObject({ user: { id: trader.id } });
  });
});
