import { and, desc, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { strategies } from '#drizzle/schema/strategies.ts';
import type { Page } from '#shared/pagination.ts';
import type { listStrategiesInput, StrategyView } from '#shared/schemas/strategies.ts';
import { notDeleted } from '../../db/soft-delete.ts';
import { actingUserId, type ServiceContext } from '../context.ts';
import { afterCursor, toPage } from '../pagination.ts';
import { strategyColumns } from './view.ts';

/** The caller's strategies, newest first; paused ones only when asked for. */
export async function listStrategies(
  ctx: ServiceContext,
  input: z.infer<typeof listStrategiesInput>,
): Promise<Page<StrategyView>> {
  const rows = await ctx.db
    .select(strategyColumns)
    .from(strategies)
    .where(
      and(
        eq(strategies.userId, actingUserId(ctx)),
        notDeleted(strategies),
        input.includeInactive ? undefined : eq(strategies.isActive, true),
        afterCursor(strategies.id, input),
      ),
    )
    .orderBy(desc(strategies.id))
    .limit(input.limit + 1);
  return toPage(rows, input);
}
