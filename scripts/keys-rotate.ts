/**
 * `npm run keys:rotate`: re-encrypts every stored secret to the first key of ENCRYPTION_KEYS. Put the new key first
 * (keeping the old ones after it) on every api and worker process before running this; once it reports no
 * failures, the old key can be removed. Safe to rerun. Prints one line per table; exits 1 if any secret could not
 * be decrypted (it is left untouched and logged by id).
 */
import { createDatabase } from '#server/db/client.ts';
import { env } from '#server/lib/env.ts';
import { logger } from '#server/lib/logger.ts';
import { rotateKeys } from '#server/services/maintenance/rotate-keys.ts';

const database = createDatabase({ url: env.DATABASE_URL, poolSize: 2, queueLimit: 10 });
try {
  const result = await rotateKeys({
    db: database.db,
    log: logger,
    requestId: `keys-rotate-${Date.now()}`,
    actor: { type: 'system', job: 'keys:rotate' },
  });
  let failed = 0;
  for (const [table, counts] of Object.entries(result.tables)) {
    failed += counts.failed;
    console.log(
      `keys:rotate ${table}: ${counts.reencrypted} re-encrypted to "${result.kid}", ${counts.scanned} scanned, ` +
        `${counts.skipped} changed concurrently, ${counts.failed} failed`,
    );
  }
  if (failed > 0) {
    console.error(`keys:rotate: ${failed} secret(s) could not be decrypted; keep the old keys until they are fixed`);
    process.exitCode = 1;
  }
} catch (error) {
  console.error(`keys:rotate failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await database.close();
}
