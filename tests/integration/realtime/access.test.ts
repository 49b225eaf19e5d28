/**
 * Who may hold notifications.onEvent streams, how many, and what happens to them when the api shuts down; and the
 * access token, which an EventSource must send in the URL, never reaching the logs.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../../server/jobs/connection.ts';
import { env } from '../../../server/lib/env.ts';
import { logger } from '../../../server/lib/logger.ts';
import type { RedisClient } from '../../../server/lib/redis-client.ts';
import { MAX_STREAMS_PER_USER } from '../../../server/services/events/hub.ts';
import { eventChannel } from '../../../server/services/events/keys.ts';
import { setEventSink } from '../../../server/services/events/publish.ts';
import { redisEventSink } from '../../../server/services/events/redis-sink.ts';
import { startTestApp, type TestApp, waitFor } from '../../helpers/app.ts';
import { signUp } from '../../helpers/client.ts';
import { FROM_START, hasReceipts, refusedAlert, subscribeEvents, traderWithStrategy } from './event-client.ts';

let server: TestApp;
let publisher: RedisClient;
let url: string;

beforeAll(async () => {
  server = await startTestApp();
  url = server.url;
  publisher = createRedis(env.REDIS_URL, 'producer', logger);
  setEventSink(redisEventSink(publisher, logger));
});

afterAll(async () => {
  setEventSink(null);
  await server.close();
  publisher.disconnect();
});

describe('notifications.onEvent access', () => {
  it('refuses a subscription without a valid access token with UNAUTHORIZED', async () => {
    for (const token of [undefined, 'not-a-token', `${(await signUp(url)).accessToken}x`]) {
      const sub = subscribeEvents(url, token);
      const error = await sub.failed();
      expect(error.data).toMatchObject({ code: 'UNAUTHORIZED', appCode: 'unauthorized' });
      sub.unsubscribe();
    }
  });

  it('refuses a malformed lastEventId with BAD_REQUEST', async () => {
    const { trader } = await traderWithStrategy(url);
    const sub = subscribeEvents(url, trader.accessToken, { lastEventId: '12; DROP TABLE' });
    expect((await sub.failed()).data).toMatchObject({ code: 'BAD_REQUEST', appCode: 'validation-failed' });
    sub.unsubscribe();
  });

  it('lets a user hold a bounded number of streams per instance, and frees them when clients go away', async () => {
    const { trader } = await traderWithStrategy(url);
    const channel = eventChannel(trader.id);
    const listeners = async () => Number((await publisher.pubsub('NUMSUB', channel))[1]);
    const open = Array.from({ length: MAX_STREAMS_PER_USER }, () => subscribeEvents(url, trader.accessToken));
    await Promise.all(open.map((sub) => sub.started));
    expect(await listeners()).toBe(1); // one pub/sub subscription per user and instance, however many streams

    const extra = subscribeEvents(url, trader.accessToken);
    expect((await extra.failed()).data).toMatchObject({ code: 'TOO_MANY_REQUESTS', appCode: 'rate-limited' });
    extra.unsubscribe();

    for (const sub of open) sub.unsubscribe();
    await waitFor(async () => (await listeners()) === 0);
    const again = subscribeEvents(url, trader.accessToken);
    await again.started;
    again.unsubscribe();
  });

  it('ends open streams when the api shuts down, so clients reconnect elsewhere and resume', async () => {
    const instance = await startTestApp();
    const { trader } = await traderWithStrategy(url);
    const sub = subscribeEvents(instance.url, trader.accessToken, FROM_START);
    await sub.started;
    const reconnecting = sub.reconnecting();
    // close() waits for open responses: it returns only because the stream ended.
    await instance.close();
    expect((await reconnecting).data).toMatchObject({ code: 'SERVICE_UNAVAILABLE', appCode: 'service-unavailable' });
    expect(sub.error).toBeNull();
    sub.unsubscribe();
  });

  it('keeps the access token out of the logs, though it travels in the subscription URL', async () => {
    const { trader, strategyId } = await traderWithStrategy(url);
    const sub = subscribeEvents(url, trader.accessToken, FROM_START);
    const id = await refusedAlert(trader, strategyId);
    await sub.until(hasReceipts([id]));
    sub.unsubscribe();

    const file = process.env.LOG_FILE;
    if (!file) throw new Error('LOG_FILE is not set by the test setup');
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines.filter((line) => line.includes(trader.accessToken))).toEqual([]);
    const requests = lines.filter((line) => line.includes('notifications.onEvent') && line.includes('"url"'));
    expect(requests.length).toBeGreaterThan(0);
    for (const line of requests) expect(line).toContain('connectionParams=[redacted]');
  });
});
