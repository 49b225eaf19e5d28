/**
 * The checks of SPEC §4 steps 1 and 4 over real HTTP: unknown and deleted tokens, source addresses, per-strategy
 * rates, the body cap, the passphrase, pause, the kill switch and staleness; with the log rows a trader sees, and
 * strategy changes taking effect on the very next alert although lookups are cached.
 */
import { readFileSync } from 'node:fs';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookLogs } from '../../drizzle/schema/webhook_logs.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type SignedInUser, signUp } from '../helpers/client.ts';
import { createWebhookStrategy, postAlert, signalJob, WEBHOOK_PATH, webhookLog } from '../helpers/webhooks.ts';

let server: TestApp;
let trader: SignedInUser;
beforeAll(async () => {
  server = await startTestApp();
  trader = await signUp(server.url);
});
afterAll(() => server.close());

const db = () => server.deps.database.db;
const alert = (extra: Record<string, unknown> = {}) => JSON.stringify({ ticker: 'MES1!', action: 'buy', ...extra });
const logCount = async (strategyId: number) =>
  (await db().select({ n: count() }).from(webhookLogs).where(eq(webhookLogs.strategyId, strategyId)))[0]?.n;
const withoutRequestId = ({ requestId: _requestId, ...rest }: Record<string, unknown>) => rest;

describe('unknown and deleted tokens', () => {
  it('answer the same 404 and write nothing', async () => {
    const unknown = await postAlert(server.url, 'A'.repeat(43), alert());
    const malformed = await postAlert(server.url, 'not a token!', alert());
    const { id, token } = await createWebhookStrategy(trader.client);
    await trader.client.strategies.delete.mutate({ id });
    const deleted = await postAlert(server.url, token, alert());

    for (const answer of [unknown, malformed, deleted]) {
      expect(answer.status).toBe(404);
      expect(withoutRequestId(answer.body)).toEqual(withoutRequestId(unknown.body));
    }
    expect(unknown.body).toMatchObject({ ok: false, code: 'not-found', requestId: expect.any(String) });
    expect(await logCount(id)).toBe(0);
  });

  it('stop working on the next alert after the token is rotated or the strategy deleted', async () => {
    const { id, token } = await createWebhookStrategy(trader.client);
    expect((await postAlert(server.url, token, alert({ n: 1 }))).status).toBe(202); // cached now
    const rotated = await trader.client.strategies.rotateWebhookToken.mutate({ id });
    const fresh = rotated.webhookToken;
    expect((await postAlert(server.url, token, alert({ n: 2 }))).status).toBe(404);
    expect((await postAlert(server.url, fresh, alert({ n: 3 }))).status).toBe(202);
    await trader.client.strategies.delete.mutate({ id });
    expect((await postAlert(server.url, fresh, alert({ n: 4 }))).status).toBe(404);
  });
});

describe('source address allowlist', () => {
  it('refuses 403 ip-not-allowed before anything is written, and allows listed addresses and CIDRs', async () => {
    const preset = await createWebhookStrategy(trader.client, { allowedIps: ['tradingview'] });
    const refused = await postAlert(server.url, preset.token, alert());
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ ok: false, code: 'ip-not-allowed' });
    expect(refused.body.id).toBeUndefined();
    expect(await logCount(preset.id)).toBe(0);

    for (const allowedIps of [['127.0.0.1'], ['tradingview', '127.0.0.0/8'], ['::1', '127.0.0.1/32']]) {
      const { token } = await createWebhookStrategy(trader.client, { allowedIps });
      expect((await postAlert(server.url, token, alert())).status, allowedIps.join()).toBe(202);
    }
    const elsewhere = await createWebhookStrategy(trader.client, { allowedIps: ['10.0.0.0/8', '2001:db8::/32'] });
    expect((await postAlert(server.url, elsewhere.token, alert())).status).toBe(403);
  });

  it("lets TradingView's addresses through the preset, however the socket reports them", async () => {
    const { token } = await createWebhookStrategy(trader.client, { allowedIps: ['tradingview', '2001:db8::/32'] });
    // inject sets the peer address, which real HTTP over loopback cannot.
    const from = async (remoteAddress: string) =>
      (
        await server.app.inject({
          method: 'POST',
          url: `${WEBHOOK_PATH}${token}`,
          remoteAddress,
          headers: { 'content-type': 'application/json' },
          payload: alert({ from: remoteAddress }),
        })
      ).statusCode;
    expect(await from('52.89.214.238')).toBe(202);
    expect(await from('52.32.178.7')).toBe(202);
    expect(await from('::ffff:34.212.75.30')).toBe(202);
    expect(await from('2001:db8::7')).toBe(202);
    expect(await from('52.89.214.239')).toBe(403);
    expect(await from('2001:db9::7')).toBe(403);
  });
});

describe('per-strategy rate limits', () => {
  it('answer 429 rate-limited with Retry-After, per minute and per hour, and write nothing', async () => {
    const { id, token } = await createWebhookStrategy(trader.client, { ratePerMinute: 2, ratePerHour: 3 });
    expect((await postAlert(server.url, token, alert({ n: 1 }))).status).toBe(202);
    expect((await postAlert(server.url, token, alert({ n: 2 }))).status).toBe(202);
    const minute = await postAlert(server.url, token, alert({ n: 3 }));
    expect(minute.status).toBe(429);
    expect(minute.body).toMatchObject({ ok: false, code: 'rate-limited' });
    const minuteRetry = Number(minute.headers.get('retry-after'));
    expect(minuteRetry).toBeGreaterThanOrEqual(1);
    expect(minuteRetry).toBeLessThanOrEqual(60);
    expect(await logCount(id)).toBe(2);

    // A higher minute budget applies on the next alert; the hour's budget (3) is then what refuses.
    await trader.client.strategies.update.mutate({ id, ratePerMinute: 3 });
    expect((await postAlert(server.url, token, alert({ n: 4 }))).status).toBe(202);
    const hour = await postAlert(server.url, token, alert({ n: 5 }));
    expect(hour.status).toBe(429);
    expect(Number(hour.headers.get('retry-after'))).toBeGreaterThan(60);
    expect(await logCount(id)).toBe(3);
  });

  it('counts each strategy on its own', async () => {
    const first = await createWebhookStrategy(trader.client, { ratePerMinute: 1, ratePerHour: 1 });
    const second = await createWebhookStrategy(trader.client, { ratePerMinute: 1, ratePerHour: 1 });
    expect((await postAlert(server.url, first.token, alert())).status).toBe(202);
    expect((await postAlert(server.url, first.token, alert({ n: 2 }))).status).toBe(429);
    expect((await postAlert(server.url, second.token, alert())).status).toBe(202);
  });
});

describe('body size', () => {
  it('refuses a body over 64 KiB with 413 and takes one just under it', async () => {
    const { id, token } = await createWebhookStrategy(trader.client);
    const padded = (bytes: number) => {
      const base = alert({ comment: '' });
      return base.replace('"comment":""', `"comment":"${'x'.repeat(bytes - base.length)}"`);
    };
    const tooBig = await postAlert(server.url, token, padded(64 * 1024 + 1), 'text/plain');
    expect(tooBig.status).toBe(413);
    expect(tooBig.body).toMatchObject({ ok: false, code: 'payload-too-large' });
    expect(await logCount(id)).toBe(0);
    expect((await postAlert(server.url, token, padded(64 * 1024))).status).toBe(202);
  });

  it('leaves the rest of the api on its own body limit', async () => {
    const response = await fetch(`${server.url}/api/v1/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ json: { email: 'a@example.com', password: 'x'.repeat(100 * 1024) } }),
    });
    expect(response.status).not.toBe(413);
  });
});

describe('passphrase', () => {
  const passphrase = 'correct horse battery staple';

  it('answers 401 invalid-passphrase when missing or wrong, logged without the secret', async () => {
    const { id, token } = await createWebhookStrategy(trader.client, { passphrase });
    const missing = await postAlert(server.url, token, alert());
    const wrong = await postAlert(server.url, token, alert({ passphrase: 'incorrect horse battery staple' }));
    const right = await postAlert(server.url, token, alert({ passphrase }));
    const again = await postAlert(server.url, token, alert({ Pass_Phrase: passphrase, n: 2 }));
    expect([missing.status, wrong.status, right.status, again.status]).toEqual([401, 401, 202, 202]);
    expect(wrong.body).toMatchObject({ ok: false, code: 'invalid-passphrase', id: expect.any(Number) });

    const rows = await db().select().from(webhookLogs).where(eq(webhookLogs.strategyId, id)).orderBy(webhookLogs.id);
    expect(rows.map((row) => [row.status, row.errorCode])).toEqual([
      ['rejected', 'invalid-passphrase'],
      ['rejected', 'invalid-passphrase'],
      ['received', null],
      ['received', null],
    ]);
    for (const row of rows) expect(row.rawBody).not.toContain('horse battery');
    expect(rows[2]?.rawBody).toContain('"passphrase":"[redacted]"');
    expect(rows[2]?.payload).toEqual({ ticker: 'MES1!', action: 'buy' });
  });

  it('takes a new passphrase from the next alert', async () => {
    const { id, token } = await createWebhookStrategy(trader.client, { passphrase });
    expect((await postAlert(server.url, token, alert({ passphrase }))).status).toBe(202);
    await trader.client.strategies.update.mutate({ id, passphrase: 'a brand new passphrase' });
    expect((await postAlert(server.url, token, alert({ passphrase, n: 2 }))).status).toBe(401);
    expect((await postAlert(server.url, token, alert({ passphrase: 'a brand new passphrase' }))).status).toBe(202);
    await trader.client.strategies.update.mutate({ id, passphrase: null });
    expect((await postAlert(server.url, token, alert({ n: 3 }))).status).toBe(202);
  });
});

describe('decisions from the strategy and the account', () => {
  it('answers 409 strategy-paused while paused, from the next alert, with a log row and no job', async () => {
    const { id, token } = await createWebhookStrategy(trader.client);
    expect((await postAlert(server.url, token, alert({ n: 1 }))).status).toBe(202);
    await trader.client.strategies.pause.mutate({ id });
    const paused = await postAlert(server.url, token, alert({ n: 2 }));
    expect(paused.status).toBe(409);
    expect(paused.body).toMatchObject({ ok: false, code: 'strategy-paused', id: expect.any(Number) });
    const row = await webhookLog(db(), paused.body.id);
    expect([row.status, row.errorCode]).toEqual(['rejected', 'strategy-paused']);
    expect(row.payload).toEqual({ ticker: 'MES1!', action: 'buy' });
    expect(await signalJob(server.queues, row.id)).toBeUndefined();
    await trader.client.strategies.resume.mutate({ id });
    expect((await postAlert(server.url, token, alert({ n: 3 }))).status).toBe(202);
  });

  it("answers 409 trading-disabled while the trader's kill switch is off", async () => {
    const other = await signUp(server.url);
    const { token } = await createWebhookStrategy(other.client);
    expect((await postAlert(server.url, token, alert({ n: 1 }))).status).toBe(202);
    await other.client.account.setTradingEnabled.mutate({ enabled: false });
    const off = await postAlert(server.url, token, alert({ n: 2 }));
    expect(off.status).toBe(409);
    expect(off.body).toMatchObject({ ok: false, code: 'trading-disabled' });
    expect((await webhookLog(db(), off.body.id)).errorCode).toBe('trading-disabled');
    await other.client.account.setTradingEnabled.mutate({ enabled: true });
    expect((await postAlert(server.url, token, alert({ n: 3 }))).status).toBe(202);
  });

  it('answers 422 stale-signal when `time` is older than max_signal_age_s', async () => {
    const { token } = await createWebhookStrategy(trader.client, { maxSignalAgeS: 60 });
    const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();
    const stale = await postAlert(server.url, token, alert({ time: ago(120) }));
    expect(stale.status).toBe(422);
    expect(stale.body).toMatchObject({ ok: false, code: 'stale-signal' });
    expect(stale.body.message).toMatch(/60 s/);
    expect((await webhookLog(db(), stale.body.id)).status).toBe('rejected');
    expect((await postAlert(server.url, token, alert({ time: ago(10) }))).status).toBe(202);
    expect((await postAlert(server.url, token, alert({ n: 'no time' }))).status).toBe(202);
  });
});

describe('secrecy', () => {
  it('never writes a webhook token to the logs', async () => {
    const { token } = await createWebhookStrategy(trader.client);
    const accepted = await postAlert(server.url, token, alert({ n: 'logged' }));
    const rejected = await postAlert(server.url, token, '{bad', 'text/plain');
    await fetch(`${server.url}${WEBHOOK_PATH}${token}`); // a GET: no such route
    const file = process.env.LOG_FILE;
    if (!file) throw new Error('LOG_FILE is unset');
    const logs = readFileSync(file, 'utf8');
    // The requests were logged (by their request id), the token nowhere.
    expect(logs).toContain(String(accepted.headers.get('x-request-id')));
    expect(logs).toContain(String(rejected.headers.get('x-request-id')));
    expect(logs).not.toContain(token);
  });
});
