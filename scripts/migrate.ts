/**
 * `npm run db:migrate`: create the database if needed and apply pending migrations under the migration lock.
 * Prints one line; exits 1 with the reason on failure (deploy jobs and scripts/dev.sh rely on the exit code).
 */
import { migrateDatabase } from '#server/db/migrate.ts';
import { env } from '#server/lib/env.ts';

try {
  let line = '';
  await migrateDatabase(env.DATABASE_URL, (msg) => {
    line = msg;
  });
  console.log(`db:migrate: ${line}`);
} catch (error) {
  console.error(`db:migrate failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
