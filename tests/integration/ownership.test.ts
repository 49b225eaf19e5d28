/**
 * Every procedure that takes an id, called by another user with the owner's ids: the answer is NOT_FOUND (exactly as
 * for an id that does not exist) and nothing of the owner's changes. New id-taking procedures belong in this table.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLogs } from '../../drizzle/schema/audit_logs.ts';
import { brokerConnections } from '../../drizzle/schema/broker_connections.ts';
import { notificationChannels } from '../../drizzle/schema/notification_channels.ts';
import { routingRules } from '../../drizzle/schema/routing_rules.ts';
import { strategies } from '../../drizzle/schema/strategies.ts';
import { webhookLogs } from '../../drizzle/schema/webhook_logs.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type ApiClient, type SignedInUser, signUp, trpcFailure } from '../helpers/client.ts';
import { rememberSecret } from '../helpers/secrets.ts';

let server: TestApp;
let owner: SignedInUser;
let intruder: SignedInUser;
const ids = { strategy: 0, connection: 0, rule: 0, channel: 0, log: 0 };
const MISSING = 999_999_999;

beforeAll(async () => {
  server = await startTestApp();
  owner = await signUp(server.url, 'Owner');
  intruder = await signUp(server.url, 'Intruder');
  const created = await owner.client.strategies.create.mutate({
    name: 'Owner strategy',
    passphrase: 'owner-passphrase',
  });
  rememberSecret(created.webhookToken, 'owner-passphrase');
  ids.strategy = created.strategy.id;
  ids.connection = (
    await owner.client.brokers.connect.mutate({
      broker: 'alpaca',
      name: 'Owner Alpaca',
      environment: 'paper',
      credentials: { keyId: 'PKOWNERKEY123456', secretKey: 'owner-alpaca-secret-value' },
    })
  ).id;
  rememberSecret('owner-alpaca-secret-value');
  ids.rule = (
    await owner.client.routing.create.mutate({ strategyId: ids.strategy, brokerConnectionId: ids.connection })
  ).id;
  ids.channel = (
    await owner.client.notifications.channels.create.mutate({
      name: 'Owner Discord',
      target: { kind: 'discord', url: 'https://8.8.8.8/api/webhooks/1/owner-token' },
    })
  ).id;
  // A failed log (replayable by its owner), written directly as ingestion would.
  const [log] = await server.deps.database.db
    .insert(webhookLogs)
    .values({ strategyId: ids.strategy, receivedAt: new Date(), rawBody: '{"ticker":"MNQ1!"}', status: 'failed' })
    .$returningId();
  ids.log = log?.id ?? 0;
});
afterAll(() => server.close());

/** Everything the owner has, as stored: compared before and after the intruder's calls. */
async function ownerState() {
  const db = server.deps.database.db;
  return {
    strategies: await db.select().from(strategies).where(eq(strategies.userId, owner.id)),
    connections: await db.select().from(brokerConnections).where(eq(brokerConnections.userId, owner.id)),
    rules: await db.select().from(routingRules).where(eq(routingRules.userId, owner.id)),
    channels: await db.select().from(notificationChannels).where(eq(notificationChannels.userId, owner.id)),
    logs: await db.select().from(webhookLogs).where(eq(webhookLogs.strategyId, ids.strategy)),
  };
}

type Call = (client: ApiClient, id: number) => Promise<unknown>;

const CALLS: Array<[string, Call, keyof typeof ids]> = [
  ['strategies.get', (c, id) => c.strategies.get.query({ id }), 'strategy'],
  ['strategies.update', (c, id) => c.strategies.update.mutate({ id, name: 'Taken over' }), 'strategy'],
  ['strategies.pause', (c, id) => c.strategies.pause.mutate({ id }), 'strategy'],
  ['strategies.resume', (c, id) => c.strategies.resume.mutate({ id }), 'strategy'],
  ['strategies.enableLive', (c, id) => c.strategies.enableLive.mutate({ id, confirm: true }), 'strategy'],
  ['strategies.disableLive', (c, id) => c.strategies.disableLive.mutate({ id }), 'strategy'],
  ['strategies.rotateWebhookToken', (c, id) => c.strategies.rotateWebhookToken.mutate({ id }), 'strategy'],
  ['strategies.getWebhookUrl', (c, id) => c.strategies.getWebhookUrl.mutate({ id }), 'strategy'],
  ['strategies.delete', (c, id) => c.strategies.delete.mutate({ id }), 'strategy'],
  ['brokers.updateConnection', (c, id) => c.brokers.updateConnection.mutate({ id, name: 'Mine now' }), 'connection'],
  ['brokers.testConnection', (c, id) => c.brokers.testConnection.mutate({ id }), 'connection'],
  ['brokers.getPositions', (c, id) => c.brokers.getPositions.query({ connectionId: id }), 'connection'],
  ['brokers.disconnect', (c, id) => c.brokers.disconnect.mutate({ id }), 'connection'],
  ['routing.update', (c, id) => c.routing.update.mutate({ id, priority: 5 }), 'rule'],
  ['routing.delete', (c, id) => c.routing.delete.mutate({ id }), 'rule'],
  ['notifications.channels.update', (c, id) => c.notifications.channels.update.mutate({ id, name: 'x' }), 'channel'],
  ['notifications.channels.delete', (c, id) => c.notifications.channels.delete.mutate({ id }), 'channel'],
  ['webhooks.getLog', (c, id) => c.webhooks.getLog.query({ id }), 'log'],
  ['webhooks.replay', (c, id) => c.webhooks.replay.mutate({ id }), 'log'],
  [
    'webhooks.simulateSignal',
    (c, id) => c.webhooks.simulateSignal.mutate({ strategyId: id, payload: { ticker: 'MNQ1!', action: 'buy' } }),
    'strategy',
  ],
];

describe("ownership: another user's ids answer NOT_FOUND and change nothing", () => {
  it.each(CALLS)('%s', async (_name, call, kind) => {
    const before = await ownerState();
    const foreign = await trpcFailure(() => call(intruder.client, ids[kind]));
    const missing = await trpcFailure(() => call(intruder.client, MISSING));
    expect(foreign.data?.code).toBe('NOT_FOUND');
    // Indistinguishable from a missing id: same code, same message.
    expect([foreign.data?.code, foreign.message]).toEqual([missing.data?.code, missing.message]);
    expect(await ownerState()).toEqual(before);
  });

  it("routing.create refuses the owner's strategy or connection combined with the intruder's own", async () => {
    const mine = await intruder.client.strategies.create.mutate({ name: 'Intruder strategy' });
    rememberSecret(mine.webhookToken);
    const myConnection = await intruder.client.brokers.connect.mutate({
      broker: 'ibkr',
      name: 'Intruder IBKR',
      credentials: { accountId: 'DU0000001' },
    });
    const before = await ownerState();
    for (const input of [
      { strategyId: ids.strategy, brokerConnectionId: myConnection.id },
      { strategyId: mine.strategy.id, brokerConnectionId: ids.connection },
    ]) {
      expect((await trpcFailure(() => intruder.client.routing.create.mutate(input))).data?.code).toBe('NOT_FOUND');
    }
    expect(await ownerState()).toEqual(before);
  });

  it("lists never include the owner's rows, even when filtered by the owner's ids", async () => {
    const c = intruder.client;
    const lists = [
      (await c.strategies.list.query({ includeInactive: true, limit: 100 })).items,
      (await c.brokers.getConnections.query({ limit: 100 })).items,
      (await c.notifications.channels.list.query({ limit: 100 })).items,
      (await c.webhooks.getLogs.query({ strategyId: ids.strategy, limit: 100 })).items,
    ];
    const ownerIds = [ids.strategy, ids.connection, ids.channel, ids.log];
    lists.forEach((items, index) => {
      expect(items.map((item) => item.id)).not.toContain(ownerIds[index]);
    });
    const filtered = await c.routing.list.query({ strategyId: ids.strategy }).catch((error: unknown) => error);
    if (Array.isArray((filtered as { items?: unknown }).items)) {
      expect((filtered as { items: Array<{ id: number }> }).items.map((item) => item.id)).not.toContain(ids.rule);
    } else {
      expect((filtered as { data?: { code?: string } }).data?.code).toBe('NOT_FOUND');
    }
  });

  it("the refusals leave no audit rows in the owner's name", async () => {
    const ownerAudit = await server.deps.database.db.select().from(auditLogs).where(eq(auditLogs.userId, owner.id));
    const actions = ownerAudit.map((row) => row.action);
    expect(
      actions.filter(
        (action) =>
          ![
            'auth.register',
            'strategy.create',
            'broker_connection.connect',
            'routing_rule.create',
            'notification_channel.create',
          ].includes(action),
      ),
    ).toEqual([]);
  });
});
