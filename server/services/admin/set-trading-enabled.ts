import { eq } from 'drizzle-orm';
import type { z } from 'zod';
import { users } from '#drizzle/schema/users.ts';
import type { AdminUser, setTradingEnabledInput } from '#shared/schemas/admin.ts';
import { emitAudit } from '../../audit/emit.ts';
import { withTransaction } from '../../db/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { lockUser } from './user-view.ts';

/** The per-user kill switch: while off, no signal of the user becomes an order (webhooks answer trading-disabled). */
export async function setTradingEnabled(
  ctx: ServiceContext,
  input: z.infer<typeof setTradingEnabledInput>,
): Promise<AdminUser> {
  return withTransaction(ctx, async (tx) => {
    const before = await lockUser(tx, input.userId);
    if (before.tradingEnabled !== input.enabled) {
      await tx.update(users).set({ tradingEnabled: input.enabled }).where(eq(users.id, before.id));
    }
    await emitAudit(tx, ctx, {
      action: 'user.set_trading_enabled',
      actorType: 'admin',
      resourceType: 'user',
      resourceId: before.id,
      oldValue: { tradingEnabled: before.tradingEnabled },
      newValue: { tradingEnabled: input.enabled },
    });
    return { ...before, tradingEnabled: input.enabled };
  });
}
