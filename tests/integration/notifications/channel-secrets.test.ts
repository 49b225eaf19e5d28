/**
 * Webhook signing secrets (generated when none is given, shown once, kept across a new URL, rotated by a new one)
 * and `notifications.channels.test`, which sends a test message to a local receiver and reports its answer.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notificationChannels } from '../../../drizzle/schema/notification_channels.ts';
import { env } from '../../../server/lib/env.ts';
import { openTarget } from '../../../server/services/channels/target.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { type SignedInUser, signUp, trpcFailure } from '../../helpers/client.ts';
import { rememberSecret } from '../../helpers/secrets.ts';
import { type Receiver, startReceiver, verifySignature } from './receivers.ts';

const OWN_SECRET = 'my-own-webhook-secret-0001';
const BOT_TOKEN = '555555555:AAchannel-test-bot-token-0003';
rememberSecret(OWN_SECRET, BOT_TOKEN);

let server: TestApp;
let receiver: Receiver;
let alice: SignedInUser;
const saved = { allowPrivate: false, telegram: '' };

beforeAll(async () => {
  saved.allowPrivate = env.ALLOW_PRIVATE_NOTIFY_TARGETS;
  saved.telegram = env.TELEGRAM_API_URL;
  env.ALLOW_PRIVATE_NOTIFY_TARGETS = true;
  server = await startTestApp();
  receiver = await startReceiver({ status: 200, body: { ok: true } });
  env.TELEGRAM_API_URL = receiver.url;
  alice = await signUp(server.url);
});
afterAll(async () => {
  await server.close();
  await receiver.close();
  env.ALLOW_PRIVATE_NOTIFY_TARGETS = saved.allowPrivate;
  env.TELEGRAM_API_URL = saved.telegram;
});

async function storedSecret(id: number): Promise<string | undefined> {
  const [row] = await server.deps.database.db
    .select({ targetEnc: notificationChannels.targetEnc })
    .from(notificationChannels)
    .where(eq(notificationChannels.id, id));
  const target = openTarget(id, row?.targetEnc ?? '');
  return target.kind === 'webhook' ? target.secret : undefined;
}

describe('webhook signing secrets', () => {
  it('generates one when none is given, shows it once, and keeps it when only the URL changes', async () => {
    const channels = alice.client.notifications.channels;
    const created = await channels.create.mutate({
      name: 'Hook',
      target: { kind: 'webhook', url: `${receiver.url}/a` },
    });
    const secret = created.signingSecret ?? '';
    rememberSecret(secret);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(await storedSecret(created.id)).toBe(secret);
    expect(JSON.stringify(await channels.list.query())).not.toContain(secret);

    const moved = await channels.update.mutate({
      id: created.id,
      target: { kind: 'webhook', url: `${receiver.url}/b` },
    });
    expect(moved.signingSecret).toBeUndefined();
    expect(moved.targetHint).toBe(new URL(receiver.url).host);
    expect(await storedSecret(created.id)).toBe(secret);

    const rotated = await channels.update.mutate({
      id: created.id,
      target: { kind: 'webhook', url: `${receiver.url}/b`, secret: OWN_SECRET },
    });
    expect(rotated.signingSecret).toBeUndefined();
    expect(await storedSecret(created.id)).toBe(OWN_SECRET);
    expect((await channels.update.mutate({ id: created.id, name: 'Renamed' })).signingSecret).toBeUndefined();
  });

  it('uses a secret the trader brings, without echoing it', async () => {
    const created = await alice.client.notifications.channels.create.mutate({
      name: 'Own secret',
      target: { kind: 'webhook', url: `${receiver.url}/own`, secret: OWN_SECRET },
    });
    expect(created.signingSecret).toBeUndefined();
    expect(JSON.stringify(created)).not.toContain(OWN_SECRET);
    expect(await storedSecret(created.id)).toBe(OWN_SECRET);
  });
});

describe('notifications.channels.test', () => {
  it('sends a signed test message and clears the channel’s last error', async () => {
    const channel = await alice.client.notifications.channels.create.mutate({
      name: 'Tested hook',
      target: { kind: 'webhook', url: `${receiver.url}/tested`, secret: OWN_SECRET },
    });
    await server.deps.database.db
      .update(notificationChannels)
      .set({ lastError: 'Webhook answered HTTP 500' })
      .where(eq(notificationChannels.id, channel.id));

    expect(await alice.client.notifications.channels.test.mutate({ id: channel.id })).toEqual({
      ok: true,
      kind: 'webhook',
    });
    const request = receiver.requests.at(-1);
    expect(request?.path).toBe('/tested');
    expect(request?.json).toMatchObject({ type: 'channel.test', title: 'Fillpath test message' });
    expect(verifySignature(OWN_SECRET, request?.headers['x-fillpath-signature'], request?.body ?? '')).toBe(true);
    const [list] = (await alice.client.notifications.channels.list.query()).items.filter((c) => c.id === channel.id);
    expect(list?.lastError).toBeNull();
  });

  it('reaches Telegram through TELEGRAM_API_URL', async () => {
    const channel = await alice.client.notifications.channels.create.mutate({
      name: 'Bot',
      target: { kind: 'telegram', botToken: BOT_TOKEN, chatId: '-100200300' },
    });
    expect(await alice.client.notifications.channels.test.mutate({ id: channel.id })).toEqual({
      ok: true,
      kind: 'telegram',
    });
    expect(receiver.requests.at(-1)?.path).toBe(`/bot${BOT_TOKEN}/sendMessage`);
  });

  it('answers the channel’s failure without recording it, and NOT_FOUND for another user’s channel', async () => {
    const failing = await startReceiver({ status: 500, body: 'oops' });
    try {
      const channel = await alice.client.notifications.channels.create.mutate({
        name: 'Broken Slack',
        target: { kind: 'slack', url: `${failing.url}/services/T/B/broken-slack-path` },
      });
      rememberSecret('broken-slack-path');
      const down = await trpcFailure(() => alice.client.notifications.channels.test.mutate({ id: channel.id }));
      expect([down.data?.code, down.message]).toEqual(['SERVICE_UNAVAILABLE', 'Slack answered HTTP 500: oops']);

      failing.answer(() => ({ status: 404, body: 'no_service' }));
      const gone = await trpcFailure(() => alice.client.notifications.channels.test.mutate({ id: channel.id }));
      expect([gone.data?.code, gone.message]).toEqual([
        'PRECONDITION_FAILED',
        'Slack refused the delivery (HTTP 404): no_service',
      ]);
      const [row] = (await alice.client.notifications.channels.list.query()).items.filter((c) => c.id === channel.id);
      expect(row?.lastError).toBeNull();

      const bob = await signUp(server.url);
      const foreign = await trpcFailure(() => bob.client.notifications.channels.test.mutate({ id: channel.id }));
      expect(foreign.data?.code).toBe('NOT_FOUND');
      expect(failing.requests).toHaveLength(2);
    } finally {
      await failing.close();
    }
  });
});
