import { and, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { users } from '#drizzle/schema/users.ts';
import type { AuthResult, loginInput } from '#shared/schemas/auth.ts';
import { emitAudit } from '../../audit/emit.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import { withTransaction } from '../../db/transaction.ts';
import { verifyPassword } from '../../lib/passwords.ts';
import type { ServiceContext } from '../context.ts';
import { Forbidden, Unauthorized } from '../errors.ts';
import { runHashing } from './hashing.ts';
import { startSession, toPublicUser } from './sessions.ts';

// One answer for an unknown email and a wrong password, so the API never says which emails have accounts.
const BAD_CREDENTIALS = 'Email or password is incorrect';

export async function login(ctx: ServiceContext, input: z.infer<typeof loginInput>): Promise<AuthResult> {
  const [user] = await ctx.db
    .select()
    .from(users)
    .where(and(eq(users.email, input.email), notDeleted(users)))
    .limit(1);
  // Always verifies (against a dummy hash when there is no user) so both failures take the same time.
  const valid = await runHashing(() => verifyPassword(user?.passwordHash ?? null, input.password));

  if (!user || !valid) {
    await withTransaction(ctx, (tx) =>
      emitAudit(tx, ctx, {
        action: 'auth.login_failed',
        resourceType: 'user',
        resourceId: user?.id ?? null,
        userId: user?.id ?? null,
        newValue: { email: input.email },
      }),
    );
    throw new Unauthorized(BAD_CREDENTIALS);
  }
  if (user.disabledAt) {
    // The right password for a disabled account: worth a trace (the account's owner, or someone holding it, still
    // trying), and only after the password matched, so the answer reveals nothing to a guesser.
    await withTransaction(ctx, (tx) =>
      emitAudit(tx, ctx, {
        action: 'auth.login_refused',
        resourceType: 'user',
        resourceId: user.id,
        userId: user.id,
        newValue: { reason: 'disabled' },
      }),
    );
    throw new Forbidden('This account is disabled; contact support');
  }

  return withTransaction(ctx, async (tx) => {
    await tx.update(users).set({ lastLoginAt: new Date() }).where(eq(users.id, user.id));
    const { result } = await startSession(tx, ctx, toPublicUser(user));
    await emitAudit(tx, ctx, { action: 'auth.login', resourceType: 'user', resourceId: user.id, userId: user.id });
    return result;
  });
}
