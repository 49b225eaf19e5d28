/**
 * Re-encrypts every stored secret whose key id is not the first of ENCRYPTION_KEYS, so an old key can be retired.
 * Rows are read in id order in batches, outside any long transaction; each is written back only if its ciphertext
 * is still the one that was read (compared in the WHERE), so a concurrent writer's newer value always wins. Each
 * batch's writes commit in one short transaction with their own `keys.rotate` audit row. Soft-deleted rows are
 * included: they still hold ciphertexts under the old key. Safe to rerun: a second run finds nothing to do. Deploy
 * the new key list to every process before running it, or they keep writing the old key.
 */
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import { notificationChannels } from '#drizzle/schema/notification_channels.ts';
import { strategies } from '#drizzle/schema/strategies.ts';
import { emitAudit } from '../../audit/emit.ts';
import { type DbOrTx, withTransaction } from '../../db/transaction.ts';
import {
  aadFor,
  DecryptionError,
  decryptSecret,
  type EncryptionKey,
  encryptSecret,
  needsReencryption,
} from '../../lib/crypto.ts';
import { env } from '../../lib/env.ts';
import type { ServiceContext } from '../context.ts';

type Row = { id: number; secret: string };

interface SecretColumn {
  table: string;
  /** Up to `limit` rows with id > `afterId`, in id order. */
  page(db: DbOrTx, afterId: number, limit: number): Promise<Row[]>;
  /** Writes `next` where the row still holds `previous`; resolves to the rows changed (0 or 1). */
  replace(db: DbOrTx, id: number, previous: string, next: string): Promise<number>;
}

// `updated_at = updated_at` keeps the ON UPDATE timestamp: re-encryption is not a change anyone made to the row.
const SECRET_COLUMNS: SecretColumn[] = [
  {
    table: 'strategies',
    page: (db, afterId, limit) =>
      db
        .select({ id: strategies.id, secret: strategies.webhookTokenEnc })
        .from(strategies)
        .where(gt(strategies.id, afterId))
        .orderBy(asc(strategies.id))
        .limit(limit),
    replace: async (db, id, previous, next) => {
      const [result] = await db
        .update(strategies)
        .set({ webhookTokenEnc: next, updatedAt: sql`${strategies.updatedAt}` })
        .where(and(eq(strategies.id, id), eq(strategies.webhookTokenEnc, previous)));
      return result.affectedRows;
    },
  },
  {
    table: 'broker_connections',
    page: (db, afterId, limit) =>
      db
        .select({ id: brokerConnections.id, secret: brokerConnections.credentialsEnc })
        .from(brokerConnections)
        .where(gt(brokerConnections.id, afterId))
        .orderBy(asc(brokerConnections.id))
        .limit(limit),
    replace: async (db, id, previous, next) => {
      const [result] = await db
        .update(brokerConnections)
        .set({ credentialsEnc: next, updatedAt: sql`${brokerConnections.updatedAt}` })
        .where(and(eq(brokerConnections.id, id), eq(brokerConnections.credentialsEnc, previous)));
      return result.affectedRows;
    },
  },
  {
    table: 'notification_channels',
    page: (db, afterId, limit) =>
      db
        .select({ id: notificationChannels.id, secret: notificationChannels.targetEnc })
        .from(notificationChannels)
        .where(gt(notificationChannels.id, afterId))
        .orderBy(asc(notificationChannels.id))
        .limit(limit),
    replace: async (db, id, previous, next) => {
      const [result] = await db
        .update(notificationChannels)
        .set({ targetEnc: next, updatedAt: sql`${notificationChannels.updatedAt}` })
        .where(and(eq(notificationChannels.id, id), eq(notificationChannels.targetEnc, previous)));
      return result.affectedRows;
    },
  },
];

export interface TableRotation {
  /** Rows read. */
  scanned: number;
  reencrypted: number;
  /** Changed by someone else between read and write: left as they are (a rerun picks up any still stale). */
  skipped: number;
  /** Did not decrypt with any configured key (unknown key id, or a value bound to another row): left untouched. */
  failed: number;
}

export interface RotationResult {
  kid: string;
  tables: Record<string, TableRotation>;
}

export interface RotateKeysOptions {
  keys?: EncryptionKey[];
  batchSize?: number;
}

export async function rotateKeys(ctx: ServiceContext, options: RotateKeysOptions = {}): Promise<RotationResult> {
  const keys = options.keys ?? env.ENCRYPTION_KEYS;
  const batchSize = options.batchSize ?? 500;
  const primary = keys[0];
  if (!primary) throw new Error('no encryption key configured');

  const tables: Record<string, TableRotation> = {};
  for (const column of SECRET_COLUMNS) {
    const counts: TableRotation = { scanned: 0, reencrypted: 0, skipped: 0, failed: 0 };
    tables[column.table] = counts;
    let afterId = 0;
    for (;;) {
      const rows = await column.page(ctx.db, afterId, batchSize);
      const last = rows.at(-1);
      if (!last) break;
      const batch = await rotateBatch(ctx, column, rows, keys, { kid: primary.kid, afterId, throughId: last.id });
      for (const key of ['scanned', 'reencrypted', 'skipped', 'failed'] as const) counts[key] += batch[key];
      if (rows.length < batchSize) break;
      afterId = last.id;
    }
  }
  return { kid: primary.kid, tables };
}

/**
 * One page of rows: decrypts and re-encrypts outside any transaction, then writes the new values and the batch's
 * audit row in one transaction, so a run that stops part-way leaves every re-encrypted row audited (a batch is
 * written whole with its audit row, or not at all). The audit row names the id range it covers.
 */
async function rotateBatch(
  ctx: ServiceContext,
  column: SecretColumn,
  rows: Row[],
  keys: EncryptionKey[],
  range: { kid: string; afterId: number; throughId: number },
): Promise<TableRotation> {
  const pending: { id: number; previous: string; next: string }[] = [];
  let failed = 0;
  for (const row of rows) {
    if (!needsReencryption(row.secret, keys)) continue;
    const aad = aadFor(column.table, row.id);
    try {
      pending.push({
        id: row.id,
        previous: row.secret,
        next: encryptSecret(decryptSecret(row.secret, aad, keys), aad, keys),
      });
    } catch (error) {
      if (!(error instanceof DecryptionError)) throw error;
      failed++;
      ctx.log.error({ table: column.table, id: row.id, reason: error.message }, 'secret could not be re-encrypted');
    }
  }
  const counts: TableRotation = { scanned: rows.length, reencrypted: 0, skipped: 0, failed };
  if (pending.length === 0 && failed === 0) return counts;
  await withTransaction(ctx, async (tx) => {
    for (const { id, previous, next } of pending) {
      if ((await column.replace(tx, id, previous, next)) > 0) counts.reencrypted++;
      else counts.skipped++;
    }
    if (counts.reencrypted + counts.failed === 0) return;
    await emitAudit(tx, ctx, {
      action: 'keys.rotate',
      resourceType: 'encryption_key',
      resourceId: range.kid,
      newValue: { table: column.table, afterId: range.afterId, throughId: range.throughId, ...counts },
    });
  });
  return counts;
}
