import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { eq, sql } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { auditLogs } from '../../drizzle/schema/audit_logs.ts';
import { brokerConnections } from '../../drizzle/schema/broker_connections.ts';
import { notificationChannels } from '../../drizzle/schema/notification_channels.ts';
import { strategies } from '../../drizzle/schema/strategies.ts';
import { users } from '../../drizzle/schema/users.ts';
import { aadFor, DecryptionError, decryptSecret, type EncryptionKey, encryptSecret } from '../../server/lib/crypto.ts';
import { logger } from '../../server/lib/logger.ts';
import { rotateKeys } from '../../server/services/maintenance/rotate-keys.ts';
import { waitFor } from '../helpers/app.ts';
import { useTestDatabase } from '../helpers/db.ts';

const database = useTestDatabase();
const { db } = database;
const keyA: EncryptionKey = { kid: 'a', key: randomBytes(32) };
const keyB: EncryptionKey = { kid: 'b', key: randomBytes(32) };
const ctx = { db, log: logger, requestId: 'key-rotation-test', actor: { type: 'system' as const } };
const kidOf = (stored: string) => stored.split(':')[1];

/** Rows whose secrets were written under key A alone, the way the services write them (row first, then the AAD). */
async function seedUnderKeyA() {
  const [user] = await db
    .insert(users)
    .values({ email: `${randomUUID()}@example.com`, passwordHash: 'x', name: 'Keys' })
    .$returningId();
  const userId = user?.id ?? 0;
  const encrypt = (table: string, id: number, plain: string) => encryptSecret(plain, aadFor(table, id), [keyA]);

  const strategyIds: number[] = [];
  for (const n of [1, 2, 3]) {
    const [row] = await db
      .insert(strategies)
      .values({ userId, name: `s${n}`, webhookTokenHash: randomUUID(), webhookTokenEnc: 'pending' })
      .$returningId();
    const id = row?.id ?? 0;
    await db
      .update(strategies)
      .set({ webhookTokenEnc: encrypt('strategies', id, `token-${n}`) })
      .where(eq(strategies.id, id));
    strategyIds.push(id);
  }
  const connectionIds: number[] = [];
  for (const n of [1, 2]) {
    const [row] = await db
      .insert(brokerConnections)
      .values({ userId, broker: 'alpaca', name: `c${n}`, credentialsEnc: 'pending' })
      .$returningId();
    const id = row?.id ?? 0;
    await db
      .update(brokerConnections)
      .set({ credentialsEnc: encrypt('broker_connections', id, `{"apiKey":"k${n}"}`) })
      .where(eq(brokerConnections.id, id));
    connectionIds.push(id);
  }
  // A deleted channel still holds a ciphertext under the old key: it is rotated too.
  const [channel] = await db
    .insert(notificationChannels)
    .values({ userId, kind: 'webhook', name: 'hook', targetEnc: 'pending', deletedAt: new Date() })
    .$returningId();
  const channelId = channel?.id ?? 0;
  await db
    .update(notificationChannels)
    .set({ targetEnc: encrypt('notification_channels', channelId, 'https://hooks.example.com/x') })
    .where(eq(notificationChannels.id, channelId));
  return { strategyIds, connectionIds, channelId };
}

/** Gives the second connection the first one's ciphertext, which names row 1 in its AAD; returns that value. */
async function copyFirstCredentialsToSecond([first, second]: number[]): Promise<string> {
  const [copied] = await db
    .select()
    .from(brokerConnections)
    .where(eq(brokerConnections.id, first ?? 0));
  const enc = copied?.credentialsEnc ?? '';
  await db
    .update(brokerConnections)
    .set({ credentialsEnc: enc })
    .where(eq(brokerConnections.id, second ?? 0));
  return enc;
}

async function storedSecrets() {
  return {
    strategies: await db.select({ id: strategies.id, enc: strategies.webhookTokenEnc }).from(strategies),
    connections: await db
      .select({
        id: brokerConnections.id,
        enc: brokerConnections.credentialsEnc,
        updatedAt: brokerConnections.updatedAt,
      })
      .from(brokerConnections),
    channels: await db
      .select({ id: notificationChannels.id, enc: notificationChannels.targetEnc })
      .from(notificationChannels),
  };
}

// Each test counts rows from scratch.
beforeEach(async () => {
  for (const table of [strategies, brokerConnections, notificationChannels, auditLogs]) await db.delete(table);
});

describe('keys:rotate', () => {
  it('re-encrypts every secret to the first key, leaves a value bound to another row alone, and reruns as a no-op', async () => {
    const { strategyIds, connectionIds, channelId } = await seedUnderKeyA();
    const [first, second] = connectionIds as [number, number];
    // Connection 2 now holds connection 1's ciphertext: its AAD names row 1, so it must not decrypt as row 2.
    const copied = await copyFirstCredentialsToSecond(connectionIds);
    expect(() => decryptSecret(copied, aadFor('broker_connections', second), [keyA])).toThrow(DecryptionError);
    const before = await storedSecrets();

    // Key B goes first; key A stays in the list so old values still decrypt. Batches of 2 cross a page boundary.
    const result = await rotateKeys(ctx, { keys: [keyB, keyA], batchSize: 2 });
    expect(result).toEqual({
      kid: 'b',
      tables: {
        strategies: { scanned: 3, reencrypted: 3, skipped: 0, failed: 0 },
        broker_connections: { scanned: 2, reencrypted: 1, skipped: 0, failed: 1 },
        notification_channels: { scanned: 1, reencrypted: 1, skipped: 0, failed: 0 },
      },
    });

    const after = await storedSecrets();
    for (const [index, id] of strategyIds.entries()) {
      const enc = after.strategies.find((row) => row.id === id)?.enc ?? '';
      expect(kidOf(enc)).toBe('b');
      expect(decryptSecret(enc, aadFor('strategies', id), [keyB])).toBe(`token-${index + 1}`);
    }
    const firstAfter = after.connections.find((row) => row.id === first);
    expect(decryptSecret(firstAfter?.enc ?? '', aadFor('broker_connections', first), [keyB])).toBe('{"apiKey":"k1"}');
    // Re-encryption is not an edit: updated_at stays as it was.
    expect(firstAfter?.updatedAt).toEqual(before.connections.find((row) => row.id === first)?.updatedAt);
    expect(after.connections.find((row) => row.id === second)?.enc).toBe(copied);
    const channelEnc = after.channels.find((row) => row.id === channelId)?.enc ?? '';
    expect(decryptSecret(channelEnc, aadFor('notification_channels', channelId), [keyB])).toBe(
      'https://hooks.example.com/x',
    );
    // One audit row per batch that changed something, naming the id range it covers.
    const audit = await db.select().from(auditLogs).where(eq(auditLogs.action, 'keys.rotate')).orderBy(auditLogs.id);
    expect(audit.every((row) => row.actorType === 'system' && row.resourceId === 'b')).toBe(true);
    expect(audit.map((row) => row.newValue)).toEqual([
      { table: 'strategies', afterId: 0, throughId: strategyIds[1], scanned: 2, reencrypted: 2, skipped: 0, failed: 0 },
      {
        table: 'strategies',
        afterId: strategyIds[1],
        throughId: strategyIds[2],
        scanned: 1,
        reencrypted: 1,
        skipped: 0,
        failed: 0,
      },
      { table: 'broker_connections', afterId: 0, throughId: second, scanned: 2, reencrypted: 1, skipped: 0, failed: 1 },
      {
        table: 'notification_channels',
        afterId: 0,
        throughId: channelId,
        scanned: 1,
        reencrypted: 1,
        skipped: 0,
        failed: 0,
      },
    ]);

    const rerun = await rotateKeys(ctx, { keys: [keyB, keyA] });
    expect(Object.values(rerun.tables).map((counts) => counts.reencrypted)).toEqual([0, 0, 0]);
    expect(await storedSecrets()).toEqual(after);
  });

  it('lets a concurrent writer win: a row changed after it was read is left with the new value', async () => {
    const { strategyIds } = await seedUnderKeyA();
    const id = strategyIds[0] ?? 0;
    const fresh = encryptSecret('token-rotated-by-user', aadFor('strategies', id), [keyB]);
    let rotation: ReturnType<typeof rotateKeys> | undefined;
    await db.transaction(async (tx) => {
      // The user's write holds the row lock; the rotation reads the old value and its UPDATE waits for the lock.
      await tx.update(strategies).set({ webhookTokenEnc: fresh }).where(eq(strategies.id, id));
      rotation = rotateKeys(ctx, { keys: [keyB, keyA] });
      await waitFor(async () => {
        const [rows] = (await db.execute(
          sql`SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX t
                JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
               WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()`,
        )) as unknown as [{ n: number | string }[]];
        return Number(rows[0]?.n) > 0;
      });
    });
    const result = await rotation;
    expect(result?.tables.strategies).toEqual({ scanned: 3, reencrypted: 2, skipped: 1, failed: 0 });
    const [row] = await db.select().from(strategies).where(eq(strategies.id, id));
    expect(row?.webhookTokenEnc).toBe(fresh);
  });

  it('a run that stops part-way leaves an audit row for every secret it re-encrypted', async () => {
    const { strategyIds } = await seedUnderKeyA();
    const [first, second, third] = strategyIds as [number, number, number];
    // The write of the third strategy (second batch) fails, as a crash or a lost connection would.
    await database.pool.query(
      `CREATE TRIGGER key_rotation_crash BEFORE UPDATE ON strategies FOR EACH ROW
         BEGIN IF NEW.id = ${third} THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'crashed'; END IF; END`,
    );
    try {
      await expect(rotateKeys(ctx, { keys: [keyB, keyA], batchSize: 2 })).rejects.toMatchObject({
        cause: expect.objectContaining({ message: 'crashed' }),
      });
    } finally {
      await database.pool.query('DROP TRIGGER IF EXISTS key_rotation_crash');
    }

    const kids = new Map((await storedSecrets()).strategies.map((row) => [row.id, kidOf(row.enc)]));
    expect([kids.get(first), kids.get(second), kids.get(third)]).toEqual(['b', 'b', 'a']);
    const audit = await db.select().from(auditLogs).where(eq(auditLogs.action, 'keys.rotate'));
    expect(audit.map((row) => row.newValue)).toEqual([
      { table: 'strategies', afterId: 0, throughId: second, scanned: 2, reencrypted: 2, skipped: 0, failed: 0 },
    ]);
  });

  it('as a script, prints one line per table and exits 1 while a secret cannot be re-encrypted', async () => {
    const { connectionIds } = await seedUnderKeyA();
    await copyFirstCredentialsToSecond(connectionIds);
    const env = {
      ...process.env,
      ENCRYPTION_KEYS: [keyB, keyA].map((k) => `${k.kid}:${k.key.toString('base64')}`).join(','),
    };
    const outcome = await promisify(execFile)(process.execPath, ['scripts/keys-rotate.ts'], { env }).then(
      (result) => ({ code: 0, ...result }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(outcome.stdout.trim().split('\n')).toEqual([
      'keys:rotate strategies: 3 re-encrypted to "b", 3 scanned, 0 changed concurrently, 0 failed',
      'keys:rotate broker_connections: 1 re-encrypted to "b", 2 scanned, 0 changed concurrently, 1 failed',
      'keys:rotate notification_channels: 1 re-encrypted to "b", 1 scanned, 0 changed concurrently, 0 failed',
    ]);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain('1 secret(s) could not be decrypted');
  });
});
