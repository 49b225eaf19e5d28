/**
 * Group commit of accepted logs (server/services/webhooks/log-batch.ts): alerts arriving together share one
 * multi-row INSERT, yet each sender gets the id of the row holding its own alert, a job for it, and duplicates are
 * still caught when a batch meets a key committed earlier or carries the same key twice.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookLogs } from '../../drizzle/schema/webhook_logs.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type SignedInUser, signUp } from '../helpers/client.ts';
import { createWebhookStrategy, postAlert, signalJob, webhookLog } from '../helpers/webhooks.ts';

let server: TestApp;
let trader: SignedInUser;
beforeAll(async () => {
  server = await startTestApp();
  trader = await signUp(server.url);
});
afterAll(() => server.close());

const db = () => server.deps.database.db;
const alert = (key: string) => JSON.stringify({ ticker: 'AAPL', action: 'buy', quantity: '1', idempotencyKey: key });

describe('alerts arriving together', () => {
  it('each get the id of the row holding their own alert, and one job each', async () => {
    const { token } = await createWebhookStrategy(trader.client);
    const keys = Array.from({ length: 50 }, (_, i) => `burst-${i}-${Math.random().toString(36).slice(2)}`);
    const answers = await Promise.all(keys.map((key) => postAlert(server.url, token, alert(key))));
    expect(answers.map((answer) => answer.status)).toEqual(keys.map(() => 202));
    const ids = answers.map((answer) => answer.body.id);
    expect(new Set(ids).size).toBe(keys.length);
    for (const [index, answer] of answers.entries()) {
      const row = await webhookLog(db(), answer.body.id);
      expect(row.status).toBe('received');
      expect(JSON.parse(row.rawBody ?? '').idempotencyKey).toBe(keys[index]);
      expect(await signalJob(server.queues, answer.body.id)).toBeDefined();
    }
  });

  it('sort out keys committed earlier and keys repeated within the burst, accepting each key once', async () => {
    const { id: strategyId, token } = await createWebhookStrategy(trader.client);
    const earlier = await postAlert(server.url, token, alert('committed-before'));
    expect(earlier.status).toBe(202);
    const burst = ['committed-before', 'fresh-a', 'fresh-b', 'fresh-a', 'fresh-c', 'fresh-b', 'committed-before'];
    const answers = await Promise.all(burst.map((key) => postAlert(server.url, token, alert(key))));

    const acceptedKeys = new Map<string, number>();
    for (const [index, answer] of answers.entries()) {
      const key = burst[index] as string;
      if (answer.status === 202) {
        expect(acceptedKeys.has(key)).toBe(false);
        acceptedKeys.set(key, Number(answer.body.id));
      }
    }
    expect([...acceptedKeys.keys()].sort()).toEqual(['fresh-a', 'fresh-b', 'fresh-c']);
    for (const [index, answer] of answers.entries()) {
      if (answer.status === 202) continue;
      const key = burst[index] as string;
      expect(answer.status).toBe(200);
      const original = key === 'committed-before' ? earlier.body.id : acceptedKeys.get(key);
      expect(answer.body).toMatchObject({ status: 'duplicate', duplicateOf: original });
      expect(await signalJob(server.queues, answer.body.id)).toBeUndefined();
    }
    const rows = await db()
      .select({ status: webhookLogs.status })
      .from(webhookLogs)
      .where(eq(webhookLogs.strategyId, strategyId));
    expect(rows.filter((row) => row.status === 'received')).toHaveLength(4);
    expect(rows.filter((row) => row.status === 'duplicate')).toHaveLength(4);
  });
});
