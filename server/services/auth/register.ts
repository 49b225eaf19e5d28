import type { z } from 'zod';
import { users } from '#drizzle/schema/users.ts';
import type { AuthResult, registerInput } from '#shared/schemas/auth.ts';
import { emitAudit } from '../../audit/emit.ts';
import { isDuplicateKey } from '../../db/errors.ts';
import { withTransaction } from '../../db/transaction.ts';
import { hashPassword } from '../../lib/passwords.ts';
import { sanitizeText } from '../../lib/sanitize.ts';
import type { ServiceContext } from '../context.ts';
import { Conflict, InvalidInput } from '../errors.ts';
import { runHashing } from './hashing.ts';
import { startSession, toPublicUser } from './sessions.ts';

export async function register(ctx: ServiceContext, input: z.infer<typeof registerInput>): Promise<AuthResult> {
  // Before hashing, so a refused name costs no argon2 run.
  const name = sanitizeText(input.name);
  if (!name) throw new InvalidInput('The name must contain text, not only markup');
  // Hash outside the transaction: it takes tens of milliseconds and needs no database.
  const passwordHash = await runHashing(() => hashPassword(input.password));
  try {
    return await withTransaction(ctx, async (tx) => {
      const [inserted] = await tx.insert(users).values({ email: input.email, passwordHash, name }).$returningId();
      if (!inserted) throw new Error('user insert returned no id');
      const user = toPublicUser({ id: inserted.id, email: input.email, name, role: 'user' });
      const { result } = await startSession(tx, ctx, user);
      await emitAudit(tx, ctx, {
        action: 'auth.register',
        resourceType: 'user',
        resourceId: user.id,
        userId: user.id,
        newValue: { email: user.email, name },
      });
      return result;
    });
  } catch (error) {
    if (isDuplicateKey(error)) throw new Conflict('An account with this email already exists');
    throw error;
  }
}
