import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLogs } from '../../drizzle/schema/audit_logs.ts';
import { notificationChannels } from '../../drizzle/schema/notification_channels.ts';
import { aadFor, DecryptionError, decryptSecret } from '../../server/lib/crypto.ts';
import { env } from '../../server/lib/env.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type SignedInUser, signUp, trpcFailure } from '../helpers/client.ts';
import { rememberSecret } from '../helpers/secrets.ts';

let server: TestApp;
beforeAll(async () => {
  server = await startTestApp();
});
afterAll(() => server.close());

const db = () => server.deps.database.db;

// Literal public addresses: the checks need no DNS for them (this machine may have none).
const DISCORD_TOKEN = 'discord-webhook-token-Zq81';
const DISCORD = { kind: 'discord' as const, url: `https://1.1.1.1/api/webhooks/123/${DISCORD_TOKEN}` };
const SLACK = { kind: 'slack' as const, url: 'https://[2606:4700:4700::1111]/services/T000/B000/slack-secret-path' };
const BOT_TOKEN = '123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ';
const TELEGRAM = { kind: 'telegram' as const, botToken: BOT_TOKEN, chatId: '-1001234567890' };
const WEBHOOK = {
  kind: 'webhook' as const,
  url: 'https://8.8.8.8:8443/hooks/fillpath',
  secret: 'webhook-hmac-secret-0001',
};
const SECRETS = [DISCORD_TOKEN, 'slack-secret-path', BOT_TOKEN, 'webhook-hmac-secret-0001', '/hooks/fillpath'];
rememberSecret(...SECRETS.filter((secret) => secret !== '/hooks/fillpath'));

function expectNoSecrets(value: unknown) {
  const raw = JSON.stringify(value);
  for (const secret of SECRETS) expect(raw).not.toContain(secret);
  expect(raw).not.toMatch(/v1:[A-Za-z0-9_-]+:/);
}

async function storedRow(id: number) {
  const [row] = await db().select().from(notificationChannels).where(eq(notificationChannels.id, id));
  if (!row) throw new Error(`no channel ${id}`);
  return row;
}

const create = (
  user: SignedInUser,
  target: Parameters<SignedInUser['client']['notifications']['channels']['create']['mutate']>[0]['target'],
  name = `Channel ${Math.random()}`,
) => user.client.notifications.channels.create.mutate({ name, target });

describe('notification channels', () => {
  it('creates every kind, answers with a hint only and stores the target encrypted to its row', async () => {
    const alice = await signUp(server.url);
    const discord = await alice.client.notifications.channels.create.mutate({
      name: 'Discord',
      target: DISCORD,
      events: ['order.filled', 'order.rejected', 'order.filled'],
    });
    const slack = await create(alice, SLACK);
    const telegram = await create(alice, TELEGRAM);
    const webhook = await create(alice, WEBHOOK);

    expect(discord).toMatchObject({
      kind: 'discord',
      name: 'Discord',
      targetHint: '1.1.1.1',
      events: ['order.filled', 'order.rejected'],
      isActive: true,
      lastError: null,
    });
    expect(slack).toMatchObject({ targetHint: '[2606:4700:4700::1111]', events: null });
    expect(telegram.targetHint).toBe('chat …7890');
    expect(webhook.targetHint).toBe('8.8.8.8:8443');

    const list = await alice.client.notifications.channels.list.query();
    expect(list.items.map((c) => c.id)).toEqual([webhook.id, telegram.id, slack.id, discord.id]);
    expectNoSecrets([discord, slack, telegram, webhook, list]);
    expect(Object.keys(discord)).not.toContain('target');

    for (const [channel, target] of [
      [discord, DISCORD],
      [telegram, TELEGRAM],
      [webhook, WEBHOOK],
    ] as const) {
      const row = await storedRow(channel.id);
      expect(JSON.parse(decryptSecret(row.targetEnc, aadFor('notification_channels', channel.id)))).toEqual(target);
    }
    const discordRow = await storedRow(discord.id);
    expect(() => decryptSecret(discordRow.targetEnc, aadFor('notification_channels', slack.id))).toThrow(
      DecryptionError,
    );
  });

  it('refuses http, private, loopback, link-local and unresolvable targets with a message naming the problem', async () => {
    const alice = await signUp(server.url);
    const refusals: Array<[string, RegExp]> = [
      ['http://1.1.1.1/hook', /must use https/],
      ['https://127.0.0.1/hook', /is a loopback address/],
      ['https://localhost:8080/hook', /"localhost" resolves to a loopback address/],
      ['https://[::1]/hook', /is a loopback address/],
      ['https://[::ffff:10.0.0.1]/hook', /is a private address/],
      ['https://10.1.2.3/hook', /is a private address/],
      ['https://192.168.1.10/hook', /is a private address/],
      ['https://169.254.169.254/latest/meta-data', /is a link-local address/],
      ['https://100.64.0.1/hook', /is a carrier-grade NAT address/],
      ['https://[fd00::1]/hook', /is a unique-local address/],
      ['https://0.0.0.0/hook', /is an unspecified address/],
      ['https://no-such-host.invalid/hook', /"no-such-host.invalid" does not resolve/],
    ];
    for (const [url, message] of refusals) {
      const error = await trpcFailure(() => create(alice, { kind: 'webhook', url }));
      expect(error.data?.appCode, url).toBe('validation-failed');
      expect(error.message, url).toMatch(message);
    }
    const withToken = await trpcFailure(() =>
      create(alice, { kind: 'discord', url: `https://127.0.0.1/api/webhooks/1/${DISCORD_TOKEN}` }),
    );
    expect(withToken.message).toContain('"127.0.0.1"');
    expectNoSecrets([withToken.message, withToken.data]);
    const javascript = await trpcFailure(() => create(alice, { kind: 'discord', url: 'javascript:alert(1)' }));
    expect(javascript.data?.zodError?.fieldErrors).toHaveProperty('target');
    expect((await alice.client.notifications.channels.list.query()).items).toEqual([]);
  });

  it('accepts http and private targets only while ALLOW_PRIVATE_NOTIFY_TARGETS is on', async () => {
    const alice = await signUp(server.url);
    const local = { kind: 'webhook' as const, url: 'http://127.0.0.1:9/fake-receiver' };
    expect(env.ALLOW_PRIVATE_NOTIFY_TARGETS).toBe(false);
    env.ALLOW_PRIVATE_NOTIFY_TARGETS = true;
    try {
      expect((await create(alice, local)).targetHint).toBe('127.0.0.1:9');
    } finally {
      env.ALLOW_PRIVATE_NOTIFY_TARGETS = false;
    }
    expect((await trpcFailure(() => create(alice, local))).data?.appCode).toBe('validation-failed');
  });

  it('validates kinds, telegram fields and event types with field errors', async () => {
    const alice = await signUp(server.url);
    const channels = alice.client.notifications.channels;
    const cases: Array<[() => Promise<unknown>, string]> = [
      // @ts-expect-error unknown kind
      [() => channels.create.mutate({ name: 'X', target: { kind: 'email', url: 'https://1.1.1.1/' } }), 'target'],
      [() => create(alice, { ...TELEGRAM, botToken: 'not-a-token' }), 'target'],
      [() => create(alice, { ...TELEGRAM, chatId: 'chat; DROP TABLE' }), 'target'],
      [() => create(alice, { ...WEBHOOK, secret: 'short' }), 'target'],
      // @ts-expect-error unknown event type
      [() => channels.create.mutate({ name: 'X', target: DISCORD, events: ['order.exploded'] }), 'events'],
      [() => channels.create.mutate({ name: 'X', target: DISCORD, events: [] }), 'events'],
      [() => channels.create.mutate({ name: '', target: DISCORD }), 'name'],
    ];
    for (const [call, field] of cases) {
      const error = await trpcFailure(call);
      expect(error.data?.appCode).toBe('validation-failed');
      expect(error.data?.zodError?.fieldErrors).toHaveProperty(field);
    }
  });

  it('refuses a duplicate live name and stores names as inert text', async () => {
    const alice = await signUp(server.url);
    await create(alice, DISCORD, 'Alerts');
    expect((await trpcFailure(() => create(alice, SLACK, 'Alerts'))).data?.appCode).toBe('conflict');
    const xss = await create(alice, SLACK, '"><img src=x onerror=alert(1)>Desk <i>alerts</i>');
    // A lone `>` is plain text; no element or attribute survives.
    expect(xss.name).toBe('">Desk alerts');
    expect((await storedRow(xss.id)).name).not.toMatch(/[<]/);
    expect((await trpcFailure(() => create(alice, SLACK, '<svg onload=alert(1)>'))).data?.appCode).toBe(
      'validation-failed',
    );
  });

  it('updates, retargets within the kind, deletes, and audits every change without the target', async () => {
    const alice = await signUp(server.url);
    const channels = alice.client.notifications.channels;
    const channel = await create(alice, DISCORD, 'Main');
    await db()
      .update(notificationChannels)
      .set({ lastError: 'HTTP 404' })
      .where(eq(notificationChannels.id, channel.id));

    const renamed = await channels.update.mutate({
      id: channel.id,
      name: 'Desk',
      events: ['signal.staged'],
      isActive: false,
    });
    expect(renamed).toMatchObject({ name: 'Desk', events: ['signal.staged'], isActive: false, lastError: 'HTTP 404' });

    const newUrl = 'https://9.9.9.9/api/webhooks/456/discord-webhook-token-Zq81-rotated';
    const retargeted = await channels.update.mutate({ id: channel.id, target: { kind: 'discord', url: newUrl } });
    expect(retargeted).toMatchObject({ targetHint: '9.9.9.9', lastError: null });
    const row = await storedRow(channel.id);
    expect(JSON.parse(decryptSecret(row.targetEnc, aadFor('notification_channels', channel.id))).url).toBe(newUrl);

    const otherKind = await trpcFailure(() => channels.update.mutate({ id: channel.id, target: SLACK }));
    expect(otherKind.message).toContain('A discord channel needs a discord target');
    const privateTarget = await trpcFailure(() =>
      channels.update.mutate({ id: channel.id, target: { kind: 'discord', url: 'https://10.0.0.1/x' } }),
    );
    expect(privateTarget.message).toMatch(/private address/);
    const empty = await trpcFailure(() => channels.update.mutate({ id: channel.id }));
    expect(empty.data?.zodError?.formErrors).toEqual(['nothing to update']);

    expect(await channels.delete.mutate({ id: channel.id })).toEqual({ ok: true });
    expect((await channels.list.query()).items).toEqual([]);
    expect((await trpcFailure(() => channels.delete.mutate({ id: channel.id }))).data?.code).toBe('NOT_FOUND');
    await create(alice, SLACK, 'Desk');

    // By type too: the user's own rows (auth.register) carry the user id, which may equal the channel id.
    const audit = (
      await db().select().from(auditLogs).where(eq(auditLogs.userId, alice.id)).orderBy(auditLogs.id)
    ).filter((r) => r.resourceType === 'notification_channel' && r.resourceId === String(channel.id));
    expect(audit.map((r) => r.action)).toEqual([
      'notification_channel.create',
      'notification_channel.update',
      'notification_channel.update',
      'notification_channel.delete',
    ]);
    expect(audit[2]?.newValue).toMatchObject({ changed: ['target'] });
    expectNoSecrets(audit);
    expect(JSON.stringify(audit)).not.toContain('9.9.9.9');
  });

  it('caps the number of live channels per user', async () => {
    const alice = await signUp(server.url);
    for (let i = 0; i < 20; i++) await create(alice, DISCORD, `C${i}`);
    const over = await trpcFailure(() => create(alice, DISCORD, 'C20'));
    expect(over.data?.appCode).toBe('precondition-failed');
  });
});
