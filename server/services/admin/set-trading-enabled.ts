import { eq } from 'drizzle-orm';
import type { z } from 'zod';
import { users } from '#drizzle/schema/users.ts';
import type { AdminUser, setTradingEnabledInput } from '#shared/schemas/admin.ts';
import { emitAudit } from '../../audit/emit.ts';
import { withTransaction } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { invalidateWebhookStrategies } from '../webhooks/strategy-cache.ts';
import { lockUser } from './user-view.ts';

/**
 * The admins' kill switch: `enabled: false` locks the user's trading (users.trading_locked_at/by), `true` lifts the
 * lock. It is separate from the trader's own switch (users.trading_enabled), which it never changes, so a trader
 * cannot undo an admin's stop. Locking an already locked user keeps the original time and admin. Audited on every
 * press as `user.trading_lock`.
 */
export async function setTradingEnabled(
  ctx: ServiceContext,
  input: z.infer<typeof setTradingEnabledInput>,
): Promise<AdminUser> {
  const user = await withTransaction(ctx, async (tx) => {
    const before = await lockUser(tx, input.userId);
    const wasLocked = before.tradingLockedAt !== null;
    const lock = !input.enabled;
    let after = before;
    if (lock !== wasLocked) {
      const change = lock
        ? { tradingLockedAt: new Date(), tradingLockedBy: actingUserId(ctx) }
        : { tradingLockedAt: null, tradingLockedBy: null };
      await tx.update(users).set(change).where(eq(users.id, before.id));
      after = { ...before, ...change };
    }
    await emitAudit(tx, ctx, {
      action: 'user.trading_lock',
      actorType: 'admin',
      resourceType: 'user',
      resourceId: before.id,
      oldValue: { tradingLocked: wasLocked },
      newValue: { tradingLocked: lock },
    });
    return after;
  });
  // Committed: the webhook route answers trading-disabled (or accepts again) from the next alert.
  invalidateWebhookStrategies({ userId: user.id });
  return user;
}
