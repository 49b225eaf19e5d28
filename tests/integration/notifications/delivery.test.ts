/**
 * Deliveries to local receivers standing in for Discord, Slack, Telegram and a generic webhook, over real HTTP on
 * loopback: what each receives, the webhook signature as a receiver checks it, which channels a notification goes
 * to, and the address checks made again at send time.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetters } from '../../../drizzle/schema/dead_letters.ts';
import { notifications } from '../../../drizzle/schema/notifications.ts';
import { env } from '../../../server/lib/env.ts';
import { DeliveryRefused } from '../../../server/services/delivery/errors.ts';
import type { DeliveryMessage } from '../../../server/services/delivery/message.ts';
import { sendToTarget } from '../../../server/services/delivery/send.ts';
import { waitFor } from '../../helpers/app.ts';
import { type SignedInUser, signUp } from '../../helpers/client.ts';
import { rememberSecret } from '../../helpers/secrets.ts';
import { type NotifyHarness, startNotifyHarness } from './harness.ts';
import { type Receiver, startReceiver, verifySignature } from './receivers.ts';

const DISCORD_TOKEN = 'discord-token-Xy12ab34Cd56';
const SLACK_PATH = 'B000SLACK/slack-secret-4f1e';
const BOT_TOKEN = '123456789:AAdelivery-test-bot-token-0001';
rememberSecret(DISCORD_TOKEN, 'slack-secret-4f1e', BOT_TOKEN);

let h: NotifyHarness;
let discord: Receiver;
let slack: Receiver;
let telegram: Receiver;
let hook: Receiver;
let alice: SignedInUser;
const ids = { discord: 0, slack: 0, telegram: 0, webhook: 0 };
let signingSecret = '';

beforeAll(async () => {
  h = await startNotifyHarness();
  [discord, slack, telegram, hook] = await Promise.all([
    startReceiver({ status: 204 }),
    startReceiver({ status: 200, body: 'ok' }),
    startReceiver({ status: 200, body: { ok: true, result: { message_id: 1 } } }),
    startReceiver({ status: 200, body: { received: true } }),
  ]);
  h.useTelegram(telegram.url);
  alice = await signUp(h.server.url);
  const create = alice.client.notifications.channels.create.mutate;
  ids.discord = (
    await create({
      name: 'Discord',
      target: { kind: 'discord', url: `${discord.url}/api/webhooks/42/${DISCORD_TOKEN}` },
    })
  ).id;
  ids.slack = (
    await create({ name: 'Slack', target: { kind: 'slack', url: `${slack.url}/services/T000/${SLACK_PATH}` } })
  ).id;
  ids.telegram = (
    await create({ name: 'Telegram', target: { kind: 'telegram', botToken: BOT_TOKEN, chatId: '-1001234567890' } })
  ).id;
  const webhook = await create({ name: 'Hook', target: { kind: 'webhook', url: `${hook.url}/hooks/fillpath` } });
  ids.webhook = webhook.id;
  signingSecret = webhook.signingSecret ?? '';
  rememberSecret(signingSecret);
});

afterAll(async () => {
  await h.close();
  await Promise.all([discord, slack, telegram, hook].map((receiver) => receiver.close()));
});

const all = () => [discord, slack, telegram, hook];
const counts = () => all().map((receiver) => receiver.requests.length);

describe('delivery to each kind', () => {
  it('sends one notification to every channel in its own format', async () => {
    const before = counts();
    const notificationId = await h.notify({
      userId: alice.id,
      type: 'order.filled',
      severity: 'success',
      title: 'Order <b>filled</b> & booked',
      message: 'Bought 2 MNQ at 21000.25 @everyone <script>',
      data: { orderId: 7, strategyId: 3 },
    });
    expect(await h.dispatch()).toEqual({ notifications: 1, deliveries: 4 });
    await waitFor(async () => counts().every((n, i) => n === (before[i] ?? 0) + 1));
    const [row] = await h.server.deps.database.db
      .select()
      .from(notifications)
      .where(eq(notifications.id, notificationId));
    const createdAt = row?.createdAt.toISOString();

    const toDiscord = discord.requests.at(-1);
    expect(toDiscord?.method).toBe('POST');
    expect(toDiscord?.path).toBe(`/api/webhooks/42/${DISCORD_TOKEN}`);
    expect(toDiscord?.headers['content-type']).toBe('application/json');
    expect(toDiscord?.json).toEqual({
      username: 'Fillpath',
      embeds: [
        {
          title: 'Order <b>filled</b> & booked',
          description: 'Bought 2 MNQ at 21000.25 @everyone <script>',
          color: 0x22c55e,
          timestamp: createdAt,
          footer: { text: 'order.filled' },
        },
      ],
      allowed_mentions: { parse: [] },
    });

    expect(slack.requests.at(-1)?.path).toBe(`/services/T000/${SLACK_PATH}`);
    expect(slack.requests.at(-1)?.json).toEqual({
      text: ':white_check_mark: *Order &lt;b&gt;filled&lt;/b&gt; &amp; booked*\nBought 2 MNQ at 21000.25 @everyone &lt;script&gt;',
      unfurl_links: false,
      unfurl_media: false,
    });

    expect(telegram.requests.at(-1)?.path).toBe(`/bot${BOT_TOKEN}/sendMessage`);
    expect(telegram.requests.at(-1)?.json).toEqual({
      chat_id: '-1001234567890',
      text: '✅ <b>Order &lt;b&gt;filled&lt;/b&gt; &amp; booked</b>\nBought 2 MNQ at 21000.25 @everyone &lt;script&gt;',
      parse_mode: 'HTML',
      link_preview_options: { is_disabled: true },
    });

    const toHook = hook.requests.at(-1);
    expect(toHook?.path).toBe('/hooks/fillpath');
    expect(toHook?.headers['x-fillpath-event']).toBe('order.filled');
    expect(toHook?.headers['x-fillpath-delivery']).toBe(`${notificationId}-${ids.webhook}`);
    expect(toHook?.json).toEqual({
      deliveryId: `${notificationId}-${ids.webhook}`,
      notificationId,
      type: 'order.filled',
      severity: 'success',
      title: 'Order <b>filled</b> & booked',
      message: 'Bought 2 MNQ at 21000.25 @everyone <script>',
      data: { orderId: 7, strategyId: 3 },
      createdAt,
    });

    for (const id of Object.values(ids)) {
      const channel = await h.channelRow(id);
      expect([channel.lastError, channel.lastDeliveredAt instanceof Date]).toEqual([null, true]);
    }
    expect(row?.dispatchedAt).toBeInstanceOf(Date);
    expect(await h.dispatch()).toEqual({ notifications: 0, deliveries: 0 });
  });

  it('signs generic webhooks so a receiver can verify them, and refuses tampering and stale timestamps', async () => {
    expect(signingSecret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const received = hook.requests.at(-1);
    if (!received) throw new Error('no webhook delivery yet');
    const header = received.headers['x-fillpath-signature'];
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySignature(signingSecret, header, received.body)).toBe(true);

    expect(verifySignature(signingSecret, header, received.body.replace('"orderId":7', '"orderId":8'))).toBe(false);
    expect(verifySignature('whsec_another-secret-entirely', header, received.body)).toBe(false);
    const sentAt = Number(/t=(\d+)/.exec(String(header))?.[1]);
    expect(verifySignature(signingSecret, header, received.body, sentAt + 301)).toBe(false);
    expect(verifySignature(signingSecret, header, received.body, sentAt + 299)).toBe(true);
  });
});

describe('which channels a notification goes to', () => {
  it('only the owner’s active, live channels subscribed to its type; nothing for a deleted notification', async () => {
    const bob = await signUp(h.server.url);
    const bobHook = await startReceiver({ status: 200 });
    try {
      const create = bob.client.notifications.channels.create.mutate;
      const target = (path: string) => ({
        kind: 'webhook' as const,
        url: `${bobHook.url}/${path}`,
        secret: 'bob-webhook-secret-0001',
      });
      rememberSecret('bob-webhook-secret-0001');
      const all = await create({ name: 'All', target: target('all') });
      const rejects = await create({ name: 'Rejects', target: target('rejects'), events: ['order.rejected'] });
      await create({ name: 'Off', target: target('off'), isActive: false });
      const gone = await create({ name: 'Gone', target: target('gone') });
      await bob.client.notifications.channels.delete.mutate({ id: gone.id });

      const aliceBefore = counts();
      const filled = await h.notify({ userId: bob.id, type: 'order.filled' });
      const rejected = await h.notify({ userId: bob.id, type: 'order.rejected', severity: 'error' });
      const deleted = await h.notify({ userId: bob.id, type: 'order.filled' });
      await h.server.deps.database.db
        .update(notifications)
        .set({ deletedAt: new Date() })
        .where(eq(notifications.id, deleted));
      expect(await h.dispatch()).toEqual({ notifications: 3, deliveries: 3 });
      await waitFor(async () => bobHook.requests.length === 3);
      const got = bobHook.requests.map((r) => `${r.path} ${(r.json as { notificationId: number }).notificationId}`);
      expect(got.sort()).toEqual([`/all ${filled}`, `/all ${rejected}`, `/rejects ${rejected}`].sort());
      expect(counts()).toEqual(aliceBefore);
      expect((await h.channelRow(all.id)).lastError).toBeNull();
      expect((await h.channelRow(rejects.id)).lastDeliveredAt).toBeInstanceOf(Date);
    } finally {
      await bobHook.close();
    }
  });

  it('keeps failed-delivery dead letters and a channel’s own failure notice off the channels', async () => {
    const db = h.server.deps.database.db;
    const deadLetter = async (queue: string) => {
      const [row] = await db
        .insert(deadLetters)
        .values({ queue, jobName: 'x', jobId: `x-${Math.random()}`, userId: alice.id, payload: {}, error: 'boom' })
        .$returningId();
      return row?.id ?? 0;
    };
    const fromNotify = await h.notify({
      userId: alice.id,
      type: 'dead_letter.created',
      severity: 'error',
      data: { deadLetterId: await deadLetter('notify') },
    });
    const fromOrders = await h.notify({
      userId: alice.id,
      type: 'dead_letter.created',
      severity: 'error',
      data: { deadLetterId: await deadLetter('orders') },
    });
    const failing = await h.notify({
      userId: alice.id,
      type: 'channel.failing',
      severity: 'error',
      data: { channelId: ids.slack },
    });
    const before = counts();
    // 4 channels for the orders dead letter, 3 for the failure notice (not Slack, the failing one), 0 for the other.
    expect(await h.dispatch()).toEqual({ notifications: 3, deliveries: 7 });
    await waitFor(async () => counts().reduce((a, b) => a + b, 0) === before.reduce((a, b) => a + b, 0) + 7);
    const hookIds = hook.requests.slice(before[3]).map((r) => (r.json as { notificationId: number }).notificationId);
    expect(hookIds.sort()).toEqual([fromOrders, failing].sort());
    expect(hookIds).not.toContain(fromNotify);
    expect(slack.requests.length).toBe((before[1] ?? 0) + 1);
  });
});

describe('address checks at send time', () => {
  const message: DeliveryMessage = {
    notificationId: 1,
    channelId: 1,
    type: 'order.filled',
    severity: 'info',
    title: 't',
    message: 'm',
    data: null,
    createdAt: new Date(),
  };
  const send = (url: string) => sendToTarget({ kind: 'discord', url }, message, AbortSignal.timeout(2_000));

  it('refuses http, private literals and names resolving to private addresses unless allowed', async () => {
    const { port } = new URL(discord.url);
    const before = discord.requests.length;
    env.ALLOW_PRIVATE_NOTIFY_TARGETS = false;
    try {
      await expect(send(`http://1.1.1.1/api/webhooks/1/x`)).rejects.toThrow(/must use https/);
      await expect(send(`https://127.0.0.1:${port}/x`)).rejects.toThrow(/not a public internet address/);
      await expect(send(`https://[::1]:${port}/x`)).rejects.toThrow(DeliveryRefused);
      // A name is checked when the connection is made, on the addresses it resolves to then (DNS rebinding).
      await expect(send(`https://localhost:${port}/x`)).rejects.toThrow(/resolves to a non-public address/);
    } finally {
      env.ALLOW_PRIVATE_NOTIFY_TARGETS = true;
    }
    expect(discord.requests.length).toBe(before);
    await send(`http://localhost:${port}/allowed`);
    expect(discord.requests.at(-1)?.path).toBe('/allowed');
  });
});
