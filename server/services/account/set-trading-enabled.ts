import { and, eq } from 'drizzle-orm';
import { users } from '#drizzle/schema/users.ts';
import type { SetTradingEnabledInput, TradingState } from '#shared/schemas/account.ts';
import { emitAudit } from '../../audit/emit.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import { withTransaction } from '../../db/transaction.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { NotFound } from '../errors.ts';
import { invalidateWebhookStrategies } from '../webhooks/strategy-cache.ts';

/**
 * Flips the caller's own kill switch (users.trading_enabled). Turning it off stops new orders at once; orders
 * already at the broker are not cancelled. It never touches an admin's lock (users.trading_locked_at): turning it
 * on while locked is stored but trading stays stopped until an admin unlocks, and the answer says so. Audited every
 * time, even when the value does not change, because the trader pressed the switch.
 */
export async function setTradingEnabled(ctx: ServiceContext, input: SetTradingEnabledInput): Promise<TradingState> {
  const userId = actingUserId(ctx);
  const state = await withTransaction(ctx, async (tx) => {
    const [user] = await tx
      .select({ tradingEnabled: users.tradingEnabled, tradingLockedAt: users.tradingLockedAt })
      .from(users)
      .where(and(eq(users.id, userId), notDeleted(users)))
      .for('update');
    if (!user) throw new NotFound('User');
    if (user.tradingEnabled !== input.enabled) {
      await tx.update(users).set({ tradingEnabled: input.enabled }).where(eq(users.id, userId));
    }
    await emitAudit(tx, ctx, {
      action: 'user.trading_enabled',
      resourceType: 'user',
      resourceId: userId,
      oldValue: { tradingEnabled: user.tradingEnabled },
      newValue: { tradingEnabled: input.enabled },
    });
    return { tradingEnabled: input.enabled, tradingLockedByAdmin: user.tradingLockedAt !== null };
  });
  // Committed: the webhook route answers trading-disabled (or accepts again) from the next alert.
  invalidateWebhookStrategies({ userId });
  return state;
}
