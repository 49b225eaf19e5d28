/** Rows inserted directly, for tests that need a strategy but are not about creating one. */
import { strategies } from '../../drizzle/schema/strategies.ts';
import type { Database } from '../../server/db/client.ts';
import { randomToken, sha256Hex } from '../../server/lib/crypto.ts';

/** A live strategy of `userId` with a random (never revealed) webhook token; returns its id. */
export async function insertStrategy(db: Database, userId: number, name = `S-${randomToken(4)}`): Promise<number> {
  const [row] = await db
    .insert(strategies)
    .values({ userId, name, webhookTokenHash: sha256Hex(randomToken()), webhookTokenEnc: 'unused-in-this-test' })
    .$returningId();
  if (!row) throw new Error('strategy insert returned no id');
  return row.id;
}
