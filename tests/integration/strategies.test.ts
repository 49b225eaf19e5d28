import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLogs } from '../../drizzle/schema/audit_logs.ts';
import { strategies } from '../../drizzle/schema/strategies.ts';
import { env } from '../../server/lib/env.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type ApiClient, type SignedInUser, signUp, trpcFailure } from '../helpers/client.ts';
import { rememberSecret } from '../helpers/secrets.ts';

let server: TestApp;
let owner: SignedInUser;
let client: ApiClient;
beforeAll(async () => {
  server = await startTestApp();
  owner = await signUp(server.url);
  client = owner.client;
});
afterAll(() => server.close());

const db = () => server.deps.database.db;
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const storedRow = async (id: number) => (await db().select().from(strategies).where(eq(strategies.id, id)))[0];
const auditRows = (id: number, action: string) =>
  db()
    .select()
    .from(auditLogs)
    .where(
      and(eq(auditLogs.resourceType, 'strategy'), eq(auditLogs.resourceId, String(id)), eq(auditLogs.action, action)),
    );

let counter = 0;
const uniqueName = (prefix = 'Strategy') => `${prefix} ${++counter}`;

describe('create', () => {
  it('applies the defaults and answers the webhook URL once; only the token hash and ciphertext are stored', async () => {
    const created = await client.strategies.create.mutate({ name: uniqueName() });
    const { strategy, webhookUrl, webhookToken } = created;
    rememberSecret(webhookToken);
    expect(strategy).toMatchObject({
      description: null,
      isActive: true,
      executionMode: 'auto',
      allowedIps: null,
      maxSignalAgeS: 300,
      sizingType: 'fixed_quantity',
      sizingValue: '1.00000000',
      useSignalQuantity: true,
      allowShort: false,
      allowReverse: false,
      maxPositionQty: null,
      defaultOrderType: 'market',
      defaultTif: 'day',
      liveEnabledAt: null,
      ratePerMinute: 60,
      ratePerHour: 500,
      hasPassphrase: false,
    });
    expect(webhookToken).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes, base64url
    expect(webhookUrl).toBe(`${env.PUBLIC_BASE_URL}/api/v1/webhooks/tradingview/${webhookToken}`);

    const row = await storedRow(strategy.id);
    expect(row?.webhookTokenHash).toBe(sha256(webhookToken));
    expect(row?.webhookTokenEnc).toMatch(/^v1:/);
    expect(JSON.stringify(row)).not.toContain(webhookToken);

    const [audit] = await auditRows(strategy.id, 'strategy.create');
    expect(audit?.newValue).toMatchObject({ name: strategy.name, ratePerHour: 500 });
    expect(JSON.stringify(audit)).not.toContain(webhookToken);
  });

  it('stores the passphrase as an argon2id hash that no answer or audit row reveals', async () => {
    const passphrase = 'correct horse battery';
    rememberSecret(passphrase);
    const { strategy, webhookToken } = await client.strategies.create.mutate({ name: uniqueName(), passphrase });
    rememberSecret(webhookToken);
    expect(strategy.hasPassphrase).toBe(true);
    const row = await storedRow(strategy.id);
    expect(row?.passphraseHash).toMatch(/^\$argon2id\$/);

    // The raw bodies on the wire, as well as what the typed client decodes.
    const input = encodeURIComponent(JSON.stringify({ json: { id: strategy.id } }));
    const raw = await fetch(`${server.url}/api/v1/trpc/strategies.get?input=${input}`, {
      headers: { authorization: `Bearer ${owner.accessToken}` },
    });
    expect(raw.status).toBe(200);
    const answers = [
      await raw.text(),
      JSON.stringify(await client.strategies.list.query({ includeInactive: true })),
      JSON.stringify(strategy),
    ].join('\n');
    for (const secret of [webhookToken, passphrase, row?.passphraseHash, row?.webhookTokenHash, row?.webhookTokenEnc]) {
      expect(answers).not.toContain(secret);
    }
    const [audit] = await auditRows(strategy.id, 'strategy.create');
    expect(JSON.stringify(audit)).not.toContain(passphrase);
    expect(JSON.stringify(audit)).not.toContain('argon2');

    const cleared = await client.strategies.update.mutate({ id: strategy.id, passphrase: null });
    expect(cleared.hasPassphrase).toBe(false);
    expect((await storedRow(strategy.id))?.passphraseHash).toBeNull();
  });

  it('keeps every allowed-IP form, drops duplicates, and treats an empty list as any address', async () => {
    const allowedIps = ['tradingview', '203.0.113.7', '10.0.0.0/8', '2001:db8::/32', '::1', '203.0.113.7'];
    const { strategy } = await client.strategies.create.mutate({ name: uniqueName(), allowedIps });
    expect(strategy.allowedIps).toEqual(['tradingview', '203.0.113.7', '10.0.0.0/8', '2001:db8::/32', '::1']);
    const { strategy: open } = await client.strategies.create.mutate({ name: uniqueName(), allowedIps: [] });
    expect(open.allowedIps).toBeNull();
  });

  it('refuses out-of-range settings with a field error', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ allowedIps: ['10.0.0.0/33'] }, 'allowedIps'],
      [{ allowedIps: ['300.1.1.1'] }, 'allowedIps'],
      [{ allowedIps: ['example.com'] }, 'allowedIps'],
      [{ ratePerMinute: 100, ratePerHour: 50 }, 'ratePerHour'],
      [{ ratePerMinute: 601 }, 'ratePerMinute'],
      [{ ratePerHour: 10_001 }, 'ratePerHour'],
      [{ sizingValue: '-5' }, 'sizingValue'],
      [{ sizingValue: '0' }, 'sizingValue'],
      [{ sizingValue: '1.123456789' }, 'sizingValue'],
      [{ sizingValue: '1e3' }, 'sizingValue'],
      [{ maxPositionQty: '0.00000000' }, 'maxPositionQty'],
      [{ name: 'x'.repeat(101) }, 'name'],
      [{ name: '   ' }, 'name'],
      [{ description: 'd'.repeat(2001) }, 'description'],
      [{ maxSignalAgeS: 4 }, 'maxSignalAgeS'],
      [{ maxSignalAgeS: 86_401 }, 'maxSignalAgeS'],
      [{ passphrase: 'short' }, 'passphrase'],
      [{ executionMode: 'yolo' }, 'executionMode'],
    ];
    for (const [settings, field] of cases) {
      const input = { name: uniqueName('Invalid'), ...settings } as Parameters<
        typeof client.strategies.create.mutate
      >[0];
      const error = await trpcFailure(() => client.strategies.create.mutate(input));
      expect({ settings, code: error.data?.code }).toEqual({ settings, code: 'BAD_REQUEST' });
      expect(error.data?.zodError?.fieldErrors, JSON.stringify(settings)).toHaveProperty(field);
    }
    const stored = await client.strategies.list.query({ includeInactive: true, limit: 100 });
    expect(stored.items.filter((s) => s.name.startsWith('Invalid'))).toEqual([]);
  });

  it('answers CONFLICT for a name the user already has, and lets another user use it', async () => {
    const name = uniqueName('Taken');
    await client.strategies.create.mutate({ name });
    const error = await trpcFailure(() => client.strategies.create.mutate({ name }));
    expect(error.data?.code).toBe('CONFLICT');
    expect(error.message).toBe('A strategy with this name already exists');
    const other = await signUp(server.url);
    await expect(other.client.strategies.create.mutate({ name })).resolves.toBeDefined();
  });

  it('stores and answers names and descriptions without markup', async () => {
    const { strategy } = await client.strategies.create.mutate({
      name: '<img src=x onerror=alert(1)>Momentum<script>alert(1)</script>',
      description: '<b>Breakout</b> &lt;script&gt;alert(2)&lt;/script&gt; on <a href="javascript:x">NQ</a>',
    });
    expect(strategy.name).toBe('Momentum');
    expect(strategy.description).toBe('Breakout  on NQ');
    const row = await storedRow(strategy.id);
    expect([row?.name, row?.description]).toEqual([strategy.name, strategy.description]);

    const onlyMarkup = await trpcFailure(() => client.strategies.create.mutate({ name: '<script>x</script>' }));
    expect(onlyMarkup.data?.code).toBe('BAD_REQUEST');
  });
});

describe('update', () => {
  it('changes only what it is given and audits the old and new values of changed fields', async () => {
    const { strategy } = await client.strategies.create.mutate({ name: uniqueName() });
    const updated = await client.strategies.update.mutate({
      id: strategy.id,
      sizingType: 'dollar_amount',
      sizingValue: '2500.5',
      maxPositionQty: '10',
      allowShort: true,
      ratePerMinute: 60, // unchanged: not audited
    });
    expect(updated).toMatchObject({
      sizingType: 'dollar_amount',
      sizingValue: '2500.50000000',
      maxPositionQty: '10.00000000',
      allowShort: true,
      allowReverse: false,
      ratePerMinute: 60,
      name: strategy.name,
    });
    const [audit, ...more] = await auditRows(strategy.id, 'strategy.update');
    expect(more).toEqual([]);
    expect(audit?.oldValue).toEqual({
      sizingType: 'fixed_quantity',
      sizingValue: '1.00000000',
      maxPositionQty: null,
      allowShort: false,
    });
    expect(audit?.newValue).toEqual({
      sizingType: 'dollar_amount',
      sizingValue: '2500.5',
      maxPositionQty: '10',
      allowShort: true,
    });

    // Same values again (a decimal written differently included): nothing changes, nothing is audited.
    await client.strategies.update.mutate({ id: strategy.id, sizingValue: '2500.50', allowShort: true });
    expect(await auditRows(strategy.id, 'strategy.update')).toHaveLength(1);
  });

  it('checks the hourly rate against the stored per-minute rate and renames into a conflict', async () => {
    const { strategy } = await client.strategies.create.mutate({ name: uniqueName(), ratePerMinute: 100 });
    const tooLow = await trpcFailure(() => client.strategies.update.mutate({ id: strategy.id, ratePerHour: 99 }));
    expect(tooLow.data?.code).toBe('BAD_REQUEST');
    expect(tooLow.message).toContain('ratePerHour');
    const both = await trpcFailure(() =>
      client.strategies.update.mutate({ id: strategy.id, ratePerMinute: 20, ratePerHour: 10 }),
    );
    expect(both.data?.zodError?.fieldErrors).toHaveProperty('ratePerHour');
    expect((await client.strategies.get.query({ id: strategy.id })).ratePerHour).toBe(500);

    const { strategy: other } = await client.strategies.create.mutate({ name: uniqueName() });
    const clash = await trpcFailure(() => client.strategies.update.mutate({ id: other.id, name: strategy.name }));
    expect(clash.data?.code).toBe('CONFLICT');
  });
});

describe('list', () => {
  it('pages newest first in disjoint pages, ending with a null cursor; paused ones only when asked', async () => {
    const trader = await signUp(server.url);
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await trader.client.strategies.create.mutate({ name: `Paged ${i}` })).strategy.id);
    }
    const seen: number[] = [];
    let cursor: number | undefined;
    let pages = 0;
    do {
      const page = await trader.client.strategies.list.query({ limit: 2, cursor });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor !== undefined && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());

    const paused = ids[0] ?? 0;
    await trader.client.strategies.pause.mutate({ id: paused });
    const active = await trader.client.strategies.list.query({});
    expect(active.items.map((item) => item.id)).not.toContain(paused);
    const all = await trader.client.strategies.list.query({ includeInactive: true });
    expect(all.items.map((item) => item.id)).toContain(paused);
    expect(all.nextCursor).toBeNull();
  });
});
