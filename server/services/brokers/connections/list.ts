import { and, desc, eq } from 'drizzle-orm';
import { brokerConnections } from '#drizzle/schema/broker_connections.ts';
import type { Page, PaginationInput } from '#shared/pagination.ts';
import type { ConnectionView } from '#shared/schemas/brokers.ts';
import { notDeleted } from '../../../db/soft-delete.ts';
import { actingUserId, type ServiceContext } from '../../context.ts';
import { afterCursor, toPage } from '../../pagination.ts';
import { connectionColumns, toConnectionView } from './view.ts';

/** The caller's live connections, newest first. Served by broker_connections_user_id_name_live_uq's user_id prefix. */
export async function getConnections(ctx: ServiceContext, input: PaginationInput): Promise<Page<ConnectionView>> {
  const rows = await ctx.db
    .select(connectionColumns)
    .from(brokerConnections)
    .where(
      and(
        eq(brokerConnections.userId, actingUserId(ctx)),
        notDeleted(brokerConnections),
        afterCursor(brokerConnections.id, input),
      ),
    )
    .orderBy(desc(brokerConnections.id))
    .limit(input.limit + 1);
  const page = toPage(rows, input);
  return { items: page.items.map((row) => toConnectionView(ctx, row)), nextCursor: page.nextCursor };
}
