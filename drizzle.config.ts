import { defineConfig } from 'drizzle-kit';
import { env } from './server/lib/env.ts';

// `generate` reads only the schema; dbCredentials matter for `studio`/`check`. Never `push` (PITFALLS §2: it
// breaks on MariaDB CHECK constraints and bypasses the GET_LOCK-guarded migrator).
export default defineConfig({
  schema: './drizzle/schema',
  out: './drizzle/migrations',
  dialect: 'mysql',
  strict: true,
  verbose: true,
  dbCredentials: { url: env.DATABASE_URL },
});
