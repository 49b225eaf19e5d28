/**
 * `npm run admin:create -- <email>`: makes an existing account an administrator (register it first). The change is
 * audited as a system action. Exits 1 with one line for a missing or unknown email.
 */
import { createDatabase } from '#server/db/client.ts';
import { env } from '#server/lib/env.ts';
import { logger } from '#server/lib/logger.ts';
import { promoteByEmail } from '#server/services/admin/promote-by-email.ts';
import { NotFound } from '#server/services/errors.ts';
import { emailSchema } from '#shared/schemas/common.ts';

const parsed = emailSchema.safeParse(process.argv[2] ?? '');
if (!parsed.success) {
  console.error('usage: node scripts/create-admin.ts <email of an existing account>');
  process.exit(1);
}
const email = parsed.data;

const database = createDatabase({ url: env.DATABASE_URL, poolSize: 1, queueLimit: 10 });
try {
  const outcome = await promoteByEmail(
    {
      db: database.db,
      log: logger,
      requestId: `create-admin-${Date.now()}`,
      actor: { type: 'system', job: 'admin:create' },
    },
    email,
  );
  console.log(
    outcome.alreadyAdmin
      ? `admin:create: ${email} (user ${outcome.userId}) is already an administrator`
      : `admin:create: ${email} (user ${outcome.userId}) is now an administrator`,
  );
} catch (error) {
  console.error(
    error instanceof NotFound
      ? `admin:create: no account with email ${email}; register it first`
      : `admin:create failed: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exitCode = 1;
} finally {
  await database.close();
}
