/**
 * Failing channels, against local receivers over loopback: retries with the queue's backoff until the channel
 * answers, refusals given up on at once, `last_error` and one `channel.failing` per failure streak, a success
 * ending the streak, and a dead channel (it never answers) that opens its breaker without holding up the others.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetters } from '../../../drizzle/schema/dead_letters.ts';
import { deliveryJobId } from '../../../shared/jobs.ts';
import { waitFor } from '../../helpers/app.ts';
import { type SignedInUser, signUp } from '../../helpers/client.ts';
import { rememberSecret } from '../../helpers/secrets.ts';
import { type NotifyHarness, startNotifyHarness, TEST_ATTEMPTS } from './harness.ts';
import { type Receiver, startReceiver, verifySignature } from './receivers.ts';

const SECRET = 'failures-webhook-secret-0001';
const BOT_TOKEN = '987654321:AAfailures-test-bot-token-0002';
rememberSecret(SECRET, BOT_TOKEN);

let h: NotifyHarness;
const receivers: Receiver[] = [];
beforeAll(async () => {
  h = await startNotifyHarness({ timeoutMs: 300, volumeThreshold: 3 });
});
afterAll(async () => {
  await h.close();
  await Promise.all(receivers.map((receiver) => receiver.close()));
});

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const started = await startReceiver(...args);
  receivers.push(started);
  return started;
}

async function jobOf(notificationId: number, channelId: number) {
  const job = await h.queues.notify.getJob(deliveryJobId(notificationId, channelId));
  return { state: await job?.getState(), attemptsMade: job?.attemptsMade, reason: job?.failedReason };
}

async function settled(notificationId: number, channelId: number): Promise<void> {
  await waitFor(async () => ['completed', 'failed'].includes((await jobOf(notificationId, channelId)).state ?? ''));
}

async function failingNotices(userId: number, channelId: number) {
  return (await h.notificationsOf(userId)).filter(
    (n) => n.type === 'channel.failing' && (n.data as { channelId?: number } | null)?.channelId === channelId,
  );
}

describe('retries', () => {
  let trader: SignedInUser;
  beforeAll(async () => {
    trader = await signUp(h.server.url);
  });

  it('retries a 503 with backoff, re-signing the same delivery each time, until the webhook takes it', async () => {
    const hook = await receiver();
    hook.answer((_req, index) => (index < 2 ? { status: 503, body: 'down' } : { status: 202 }));
    const channel = await trader.client.notifications.channels.create.mutate({
      name: 'Flaky hook',
      target: { kind: 'webhook', url: `${hook.url}/in`, secret: SECRET },
    });
    const id = await h.notify({ userId: trader.id });
    await h.dispatch();
    await settled(id, channel.id);

    // BullMQ counts the attempt that succeeded too.
    expect(await jobOf(id, channel.id)).toMatchObject({ state: 'completed', attemptsMade: 3 });
    expect(hook.requests).toHaveLength(3);
    expect(new Set(hook.requests.map((r) => r.headers['x-fillpath-delivery']))).toEqual(
      new Set([`${id}-${channel.id}`]),
    );
    for (const request of hook.requests) {
      expect(verifySignature(SECRET, request.headers['x-fillpath-signature'], request.body)).toBe(true);
    }
    const row = await h.channelRow(channel.id);
    expect([row.lastError, row.lastDeliveredAt instanceof Date]).toEqual([null, true]);
    expect(await failingNotices(trader.id, channel.id)).toEqual([]);
  });

  it('retries a Telegram 429 and delivers once Telegram lets it through', async () => {
    const telegram = await receiver();
    h.useTelegram(telegram.url);
    telegram.answer((_req, index) =>
      index === 0
        ? {
            status: 429,
            body: {
              ok: false,
              error_code: 429,
              description: 'Too Many Requests: retry after 1',
              parameters: { retry_after: 1 },
            },
          }
        : { status: 200, body: { ok: true, result: {} } },
    );
    const channel = await trader.client.notifications.channels.create.mutate({
      name: 'Bot',
      target: { kind: 'telegram', botToken: BOT_TOKEN, chatId: '@fillpath_alerts' },
    });
    const id = await h.notify({ userId: trader.id });
    await h.dispatch();
    await settled(id, channel.id);
    expect(await jobOf(id, channel.id)).toMatchObject({ state: 'completed', attemptsMade: 2 });
    expect(telegram.requests.map((r) => (r.json as { chat_id: string }).chat_id)).toEqual([
      '@fillpath_alerts',
      '@fillpath_alerts',
    ]);
    expect((await h.channelRow(channel.id)).lastError).toBeNull();
  });
});

describe('a failure streak', () => {
  it('gives up on a refusal at once, records last_error, tells the trader once per streak, and a success ends it', async () => {
    const trader = await signUp(h.server.url);
    const discord = await receiver();
    discord.answer(() => ({ status: 404, body: { message: 'Unknown Webhook', code: 10015 } }));
    const channel = await trader.client.notifications.channels.create.mutate({
      name: 'Old Discord',
      target: { kind: 'discord', url: `${discord.url}/api/webhooks/1/deleted-webhook-token` },
    });
    rememberSecret('deleted-webhook-token');
    const deliver = async () => {
      const id = await h.notify({ userId: trader.id });
      await h.dispatch();
      await settled(id, channel.id);
      return id;
    };

    const first = await deliver();
    expect(await jobOf(first, channel.id)).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(discord.requests).toHaveLength(1); // a refusal is not retried
    const reason = 'Discord refused the delivery (HTTP 404): Unknown Webhook';
    expect((await h.channelRow(channel.id)).lastError).toBe(reason);
    const [notice] = await failingNotices(trader.id, channel.id);
    expect(notice).toMatchObject({
      severity: 'error',
      title: 'Notification channel "Old Discord" is failing',
      data: { channelId: channel.id },
    });
    expect(notice?.message).toContain(reason);

    await deliver();
    expect(await failingNotices(trader.id, channel.id)).toHaveLength(1);

    discord.answer(() => ({ status: 204 }));
    const fixed = await deliver();
    expect(await jobOf(fixed, channel.id)).toMatchObject({ state: 'completed' });
    const healthy = await h.channelRow(channel.id);
    expect([healthy.lastError, healthy.lastDeliveredAt instanceof Date]).toEqual([null, true]);

    discord.answer(() => ({ status: 403, body: { message: 'Missing Access' } }));
    await deliver();
    expect((await h.channelRow(channel.id)).lastError).toBe('Discord refused the delivery (HTTP 403): Missing Access');
    expect(await failingNotices(trader.id, channel.id)).toHaveLength(2);

    // Each given-up delivery became a dead letter; neither those nor the notices about this channel go to it.
    await waitFor(async () => (await deadLettersOf(trader.id)).length === 3);
    const requestsBefore = discord.requests.length;
    const { deliveries } = await h.dispatch();
    expect(deliveries).toBe(0);
    expect(discord.requests).toHaveLength(requestsBefore);
  });
});

async function deadLettersOf(userId: number) {
  return h.server.deps.database.db
    .select()
    .from(deadLetters)
    .where(and(eq(deadLetters.userId, userId), eq(deadLetters.queue, 'notify')));
}

describe('a dead channel', () => {
  it('opens its breaker and uses up its attempts while the other channels keep receiving', async () => {
    const trader = await signUp(h.server.url);
    const dead = await receiver();
    dead.answer(() => ({ hang: true }));
    const alive = await receiver({ status: 200, body: 'ok' });
    const create = trader.client.notifications.channels.create.mutate;
    const deadChannel = await create({
      name: 'Dead hook',
      target: { kind: 'webhook', url: `${dead.url}/never`, secret: SECRET },
    });
    const aliveChannel = await create({ name: 'Slack', target: { kind: 'slack', url: `${alive.url}/services/x` } });

    const ids: number[] = [];
    for (let i = 0; i < 6; i++) ids.push(await h.notify({ userId: trader.id, title: `Fill ${i}` }));
    const startedAt = Date.now();
    expect(await h.dispatch()).toMatchObject({ deliveries: 12 });

    await waitFor(async () => alive.requests.length === 6, 5_000, 20);
    // The live channel did not wait for the dead one's timeouts and retries to play out.
    expect(Date.now() - startedAt).toBeLessThan(2_000);
    expect((await h.channelRow(aliveChannel.id)).lastError).toBeNull();

    for (const id of ids) await settled(id, deadChannel.id);
    for (const id of ids) expect(await jobOf(id, deadChannel.id)).toMatchObject({ state: 'failed' });
    expect(h.breakers.state(deadChannel.id)).toBe('open');
    // Once open, the breaker answered the retries itself instead of calling the dead endpoint again.
    expect(dead.requests.length).toBeLessThan(ids.length * TEST_ATTEMPTS);
    const lastError = (await h.channelRow(deadChannel.id)).lastError ?? '';
    expect(lastError).toMatch(
      /^Webhook: (timed out|deliveries paused after repeated failures; last error: Webhook: timed out)$/,
    );
    expect(await failingNotices(trader.id, deadChannel.id)).toHaveLength(1);

    // The notice about the dead channel reaches the live one; the dead letters of its deliveries reach no channel.
    await waitFor(async () => (await deadLettersOf(trader.id)).length === ids.length);
    const before = alive.requests.length;
    expect(await h.dispatch()).toMatchObject({ deliveries: 1 });
    await waitFor(async () => alive.requests.length === before + 1);
    expect((alive.requests.at(-1)?.json as { text?: string } | undefined)?.text).toContain(
      'Notification channel "Dead hook" is failing',
    );
    const [notice] = await failingNotices(trader.id, deadChannel.id);
    expect(await h.queues.notify.getJob(deliveryJobId(notice?.id ?? 0, deadChannel.id))).toBeUndefined();
  });
});
