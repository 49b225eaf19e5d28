import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLogs } from '../../drizzle/schema/audit_logs.ts';
import { strategies } from '../../drizzle/schema/strategies.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type ApiClient, type SignedInUser, signUp, trpcFailure } from '../helpers/client.ts';
import { rememberSecret } from '../helpers/secrets.ts';

let server: TestApp;
let trader: SignedInUser;
let client: ApiClient;
beforeAll(async () => {
  server = await startTestApp();
  trader = await signUp(server.url);
  client = trader.client;
});
afterAll(() => server.close());

const db = () => server.deps.database.db;
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const rowsWithHash = (hash: string) => db().select().from(strategies).where(eq(strategies.webhookTokenHash, hash));
const auditOf = (id: number) =>
  db()
    .select()
    .from(auditLogs)
    .where(and(eq(auditLogs.resourceType, 'strategy'), eq(auditLogs.resourceId, String(id))))
    .orderBy(auditLogs.id);

let counter = 0;
async function newStrategy(settings: { passphrase?: string } = {}) {
  const created = await client.strategies.create.mutate({ name: `Lifecycle ${++counter}`, ...settings });
  rememberSecret(created.webhookToken);
  return created;
}

describe('delete', () => {
  it('soft-deletes: the strategy disappears, its name is free again, and the row and audit remain', async () => {
    const { strategy } = await newStrategy();
    await expect(client.strategies.delete.mutate({ id: strategy.id })).resolves.toEqual({ ok: true });

    expect((await trpcFailure(() => client.strategies.get.query({ id: strategy.id }))).data?.code).toBe('NOT_FOUND');
    expect((await trpcFailure(() => client.strategies.delete.mutate({ id: strategy.id }))).data?.code).toBe(
      'NOT_FOUND',
    );
    const listed = await client.strategies.list.query({ includeInactive: true, limit: 100 });
    expect(listed.items.map((item) => item.id)).not.toContain(strategy.id);

    const [row] = await db().select().from(strategies).where(eq(strategies.id, strategy.id));
    expect(row?.deletedAt).toBeInstanceOf(Date);
    expect(row?.deletedBy).toBe(trader.id);

    const { strategy: reused } = await client.strategies.create.mutate({ name: strategy.name });
    expect(reused.id).not.toBe(strategy.id);
    expect((await auditOf(strategy.id)).map((audit) => audit.action)).toEqual(['strategy.create', 'strategy.delete']);
  });

  it("removes the strategy's routing rules with it, so no signal is routed from a deleted strategy", async () => {
    const { strategy } = await newStrategy();
    const connection = await client.brokers.connect.mutate({
      broker: 'ibkr',
      name: `IBKR for ${strategy.name}`,
      credentials: { accountId: 'DU7654321' },
    });
    const rule = await client.routing.create.mutate({ strategyId: strategy.id, brokerConnectionId: connection.id });
    await client.strategies.delete.mutate({ id: strategy.id });

    const rules = await client.routing.list.query({ limit: 100 });
    expect(rules.items.map((item) => item.id)).not.toContain(rule.id);
    const ruleAudit = await db()
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.resourceType, 'routing_rule'), eq(auditLogs.resourceId, String(rule.id))));
    expect(ruleAudit.map((audit) => audit.action)).toEqual(['routing_rule.create', 'routing_rule.delete']);
  });
});

describe('webhook URL', () => {
  it('rotates to a new token whose hash replaces the old one, and reveals the current URL', async () => {
    const { strategy, webhookUrl, webhookToken } = await newStrategy();
    expect(await client.strategies.getWebhookUrl.mutate({ id: strategy.id })).toEqual({ webhookUrl });

    const rotated = await client.strategies.rotateWebhookToken.mutate({ id: strategy.id });
    rememberSecret(rotated.webhookToken);
    expect(rotated.webhookToken).not.toBe(webhookToken);
    expect(rotated.webhookUrl).toBe(webhookUrl.replace(webhookToken, rotated.webhookToken));
    expect(await rowsWithHash(sha256(webhookToken))).toEqual([]);
    expect((await rowsWithHash(sha256(rotated.webhookToken))).map((row) => row.id)).toEqual([strategy.id]);
    expect(await client.strategies.getWebhookUrl.mutate({ id: strategy.id })).toEqual({
      webhookUrl: rotated.webhookUrl,
    });

    const audits = await auditOf(strategy.id);
    expect(audits.map((audit) => audit.action)).toEqual([
      'strategy.create',
      'strategy.reveal_webhook',
      'strategy.rotate_webhook_token',
      'strategy.reveal_webhook',
    ]);
    const text = JSON.stringify(audits);
    for (const token of [webhookToken, rotated.webhookToken]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(sha256(token));
    }
  });
});

describe('state switches', () => {
  it('pause/resume flip is_active and enableLive/disableLive set and clear live_enabled_at, each audited once', async () => {
    const { strategy } = await newStrategy();
    const paused = await client.strategies.pause.mutate({ id: strategy.id });
    expect(paused.isActive).toBe(false);
    await client.strategies.pause.mutate({ id: strategy.id }); // already paused: no change, no second audit row
    expect((await client.strategies.resume.mutate({ id: strategy.id })).isActive).toBe(true);

    const before = Date.now();
    const live = await client.strategies.enableLive.mutate({ id: strategy.id, confirm: true });
    expect(live.liveEnabledAt?.getTime()).toBeGreaterThanOrEqual(before - 1000);
    const again = await client.strategies.enableLive.mutate({ id: strategy.id, confirm: true });
    expect(again.liveEnabledAt).toEqual(live.liveEnabledAt); // the first opt-in's moment is kept
    expect((await client.strategies.disableLive.mutate({ id: strategy.id })).liveEnabledAt).toBeNull();

    const unconfirmed = await trpcFailure(() =>
      client.strategies.enableLive.mutate({ id: strategy.id, confirm: false } as unknown as {
        id: number;
        confirm: true;
      }),
    );
    expect(unconfirmed.data?.zodError?.fieldErrors).toHaveProperty('confirm');

    const audits = await auditOf(strategy.id);
    expect(audits.map((audit) => [audit.action, audit.oldValue, audit.newValue])).toEqual([
      ['strategy.create', null, expect.any(Object)],
      ['strategy.pause', { isActive: true }, { isActive: false }],
      ['strategy.resume', { isActive: false }, { isActive: true }],
      ['strategy.enable_live', { liveEnabledAt: null }, { liveEnabledAt: expect.any(String) }],
      ['strategy.disable_live', { liveEnabledAt: expect.any(String) }, { liveEnabledAt: null }],
    ]);
    expect(audits.every((audit) => audit.userId === trader.id && audit.actorType === 'user')).toBe(true);
  });
});

describe('audit trail', () => {
  it('records every mutation of a strategy with its action and no secret', async () => {
    const passphrase = 'first-passphrase-1';
    const nextPassphrase = 'second-passphrase-2';
    rememberSecret(passphrase, nextPassphrase);
    const { strategy, webhookToken } = await newStrategy({ passphrase });
    await client.strategies.update.mutate({ id: strategy.id, passphrase: nextPassphrase, description: 'tuned' });
    const { webhookToken: rotatedToken } = await client.strategies.rotateWebhookToken.mutate({ id: strategy.id });
    rememberSecret(rotatedToken);
    await client.strategies.getWebhookUrl.mutate({ id: strategy.id });
    await client.strategies.pause.mutate({ id: strategy.id });
    await client.strategies.resume.mutate({ id: strategy.id });
    await client.strategies.enableLive.mutate({ id: strategy.id, confirm: true });
    await client.strategies.disableLive.mutate({ id: strategy.id });
    await client.strategies.delete.mutate({ id: strategy.id });

    const audits = await auditOf(strategy.id);
    expect(audits.map((audit) => audit.action)).toEqual([
      'strategy.create',
      'strategy.update',
      'strategy.rotate_webhook_token',
      'strategy.reveal_webhook',
      'strategy.pause',
      'strategy.resume',
      'strategy.enable_live',
      'strategy.disable_live',
      'strategy.delete',
    ]);
    const update = audits[1];
    expect(update?.oldValue).toEqual({ description: null, passphrase: '[redacted]' });
    expect(update?.newValue).toEqual({ description: 'tuned', passphrase: '[redacted]' });
    expect(audits.every((audit) => audit.resourceType === 'strategy' && audit.requestId)).toBe(true);

    const [row] = await db().select().from(strategies).where(eq(strategies.id, strategy.id));
    const text = JSON.stringify(audits);
    for (const secret of [
      passphrase,
      nextPassphrase,
      webhookToken,
      rotatedToken,
      row?.passphraseHash,
      row?.webhookTokenEnc,
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toContain('argon2');
  });
});
