/**
 * Every mutation of user data writes its audit row, in the same transaction: when the audit write fails, the
 * mutation fails with it and nothing changes. The failure is forced with a trigger that refuses audit inserts.
 */
import { randomUUID } from 'node:crypto';
import { and, eq, gt, max } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auditLogs } from '../../drizzle/schema/audit_logs.ts';
import { brokerConnections } from '../../drizzle/schema/broker_connections.ts';
import { notificationChannels } from '../../drizzle/schema/notification_channels.ts';
import { routingRules } from '../../drizzle/schema/routing_rules.ts';
import { sessions } from '../../drizzle/schema/sessions.ts';
import { strategies } from '../../drizzle/schema/strategies.ts';
import { users } from '../../drizzle/schema/users.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type ApiClient, apiClient, type SignedInUser, signUp, trpcFailure } from '../helpers/client.ts';
import { rememberSecret } from '../helpers/secrets.ts';

let server: TestApp;
let trader: SignedInUser;
const db = () => server.deps.database.db;

beforeAll(async () => {
  server = await startTestApp();
  trader = await signUp(server.url, 'Audited');
});
afterEach(() => allowAudit());
afterAll(() => server.close());

async function refuseAudit() {
  await server.deps.database.pool.query(
    `CREATE TRIGGER audit_refused BEFORE INSERT ON audit_logs FOR EACH ROW
       SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit store unavailable'`,
  );
}
async function allowAudit() {
  await server.deps.database.pool.query('DROP TRIGGER IF EXISTS audit_refused');
}

/** Everything the trader owns, as stored. */
async function traderState() {
  const mine = <T extends { userId: unknown }>(table: T) => eq(table.userId as never, trader.id);
  return {
    user: await db().select().from(users).where(eq(users.id, trader.id)),
    sessions: await db().select().from(sessions).where(mine(sessions)),
    strategies: await db().select().from(strategies).where(mine(strategies)),
    connections: await db().select().from(brokerConnections).where(mine(brokerConnections)),
    rules: await db().select().from(routingRules).where(mine(routingRules)),
    channels: await db().select().from(notificationChannels).where(mine(notificationChannels)),
  };
}

let n = 0;
const client = (): ApiClient => trader.client;
async function strategy() {
  const created = await client().strategies.create.mutate({ name: `S${++n}` });
  rememberSecret(created.webhookToken);
  return created.strategy.id;
}
const connection = async () =>
  (await client().brokers.connect.mutate({ broker: 'ibkr', name: `C${++n}`, credentials: { accountId: `DU${n}` } })).id;
const channel = async () =>
  (
    await client().notifications.channels.create.mutate({
      name: `N${++n}`,
      target: { kind: 'slack', url: 'https://1.1.1.1/services/T0/B0/audit-test' },
    })
  ).id;
async function rule() {
  return (
    await client().routing.create.mutate({ strategyId: await strategy(), brokerConnectionId: await connection() })
  ).id;
}

type Case = [action: string, prepare: () => Promise<() => Promise<unknown>>];

const CASES: Case[] = [
  ['strategy.create', async () => () => client().strategies.create.mutate({ name: `New ${++n}` })],
  [
    'strategy.update',
    async () =>
      (
        (id) => () =>
          client().strategies.update.mutate({ id, name: `Renamed ${++n}` })
      )(await strategy()),
  ],
  [
    'strategy.delete',
    async () =>
      (
        (id) => () =>
          client().strategies.delete.mutate({ id })
      )(await strategy()),
  ],
  [
    'strategy.pause',
    async () =>
      (
        (id) => () =>
          client().strategies.pause.mutate({ id })
      )(await strategy()),
  ],
  [
    'strategy.resume',
    async () => {
      const id = await strategy();
      await client().strategies.pause.mutate({ id });
      return () => client().strategies.resume.mutate({ id });
    },
  ],
  [
    'strategy.enable_live',
    async () =>
      (
        (id) => () =>
          client().strategies.enableLive.mutate({ id, confirm: true })
      )(await strategy()),
  ],
  [
    'strategy.rotate_webhook_token',
    async () =>
      (
        (id) => () =>
          client().strategies.rotateWebhookToken.mutate({ id })
      )(await strategy()),
  ],
  [
    'strategy.reveal_webhook',
    async () =>
      (
        (id) => () =>
          client().strategies.getWebhookUrl.mutate({ id })
      )(await strategy()),
  ],
  [
    'broker_connection.connect',
    async () => () =>
      client().brokers.connect.mutate({ broker: 'ibkr', name: `K${++n}`, credentials: { accountId: 'DU9' } }),
  ],
  [
    'broker_connection.update',
    async () =>
      (
        (id) => () =>
          client().brokers.updateConnection.mutate({ id, name: `K${++n}` })
      )(await connection()),
  ],
  [
    'broker_connection.disconnect',
    async () =>
      (
        (id) => () =>
          client().brokers.disconnect.mutate({ id })
      )(await connection()),
  ],
  [
    'routing_rule.create',
    async () => {
      const [strategyId, brokerConnectionId] = [await strategy(), await connection()];
      return () => client().routing.create.mutate({ strategyId, brokerConnectionId });
    },
  ],
  [
    'routing_rule.update',
    async () =>
      (
        (id) => () =>
          client().routing.update.mutate({ id, priority: ++n })
      )(await rule()),
  ],
  [
    'routing_rule.delete',
    async () =>
      (
        (id) => () =>
          client().routing.delete.mutate({ id })
      )(await rule()),
  ],
  [
    'notification_channel.create',
    async () => () =>
      client().notifications.channels.create.mutate({
        name: `M${++n}`,
        target: { kind: 'slack', url: 'https://1.1.1.1/services/x' },
      }),
  ],
  [
    'notification_channel.update',
    async () =>
      (
        (id) => () =>
          client().notifications.channels.update.mutate({ id, name: `M${++n}` })
      )(await channel()),
  ],
  [
    'notification_channel.delete',
    async () =>
      (
        (id) => () =>
          client().notifications.channels.delete.mutate({ id })
      )(await channel()),
  ],
  ['user.trading_enabled', async () => () => client().account.setTradingEnabled.mutate({ enabled: false })],
  [
    'auth.password_change',
    async () => {
      const next = `pw-${randomUUID()}`;
      rememberSecret(next);
      return async () => {
        await client().auth.changePassword.mutate({ currentPassword: trader.password, newPassword: next });
        trader.password = next;
      };
    },
  ],
  [
    'auth.login',
    async () => () => apiClient(server.url).auth.login.mutate({ email: trader.email, password: trader.password }),
  ],
  [
    'auth.logout',
    async () => {
      const session = await apiClient(server.url).auth.login.mutate({ email: trader.email, password: trader.password });
      rememberSecret(session.refreshToken, session.accessToken);
      return () => apiClient(server.url).auth.logout.mutate({ refreshToken: session.refreshToken });
    },
  ],
];

describe('audit trail', () => {
  it.each(CASES)(
    '%s: refused with its mutation when the audit write fails, written when it succeeds',
    async (action, prepare) => {
      const call = await prepare();
      const before = await traderState();
      await refuseAudit();
      const failure = await trpcFailure(call);
      expect(failure.data?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(await traderState()).toEqual(before);

      await allowAudit();
      const [latest] = await db()
        .select({ id: max(auditLogs.id) })
        .from(auditLogs);
      const since = latest?.id ?? 0;
      await call();
      const written = await db()
        .select()
        .from(auditLogs)
        .where(and(gt(auditLogs.id, since), eq(auditLogs.action, action)));
      expect(written).toHaveLength(1);
      expect(written[0]).toMatchObject({ userId: trader.id, actorType: 'user' });
      expect(written[0]?.requestId).toBeTruthy();
    },
  );

  it('registration is refused as a whole when its audit row cannot be written', async () => {
    const email = `audited-${randomUUID().slice(0, 8)}@example.com`;
    await refuseAudit();
    const failure = await trpcFailure(() =>
      apiClient(server.url).auth.register.mutate({ email, password: 'a-long-password-1', name: 'Nobody' }),
    );
    expect(failure.data?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(await db().select().from(users).where(eq(users.email, email))).toEqual([]);
  });
});
