import { and, desc, eq, gte, lt } from 'drizzle-orm';
import { auditLogs } from '#drizzle/schema/audit_logs.ts';
import type { Page } from '#shared/pagination.ts';
import type { AuditEntry, AuditListInput } from '#shared/schemas/admin.ts';
import type { ServiceContext } from '../context.ts';
import { afterCursor, toPage } from '../pagination.ts';

/**
 * The audit trail, newest first, filtered by any of actor user, action, resource and time. A user filter is served by
 * audit_logs_user_id_created_at_idx and a resource filter by audit_logs_resource_type_resource_id_created_at_idx
 * (with `from`/`to` as a range on their created_at part); unfiltered pages walk the primary key.
 */
export async function listAudit(ctx: ServiceContext, input: AuditListInput): Promise<Page<AuditEntry>> {
  const rows = await ctx.db
    .select()
    .from(auditLogs)
    .where(
      and(
        input.userId === undefined ? undefined : eq(auditLogs.userId, input.userId),
        input.action === undefined ? undefined : eq(auditLogs.action, input.action),
        input.resourceType === undefined ? undefined : eq(auditLogs.resourceType, input.resourceType),
        input.resourceId === undefined ? undefined : eq(auditLogs.resourceId, input.resourceId),
        input.from === undefined ? undefined : gte(auditLogs.createdAt, input.from),
        input.to === undefined ? undefined : lt(auditLogs.createdAt, input.to),
        afterCursor(auditLogs.id, input),
      ),
    )
    .orderBy(desc(auditLogs.id))
    .limit(input.limit + 1);
  return toPage(
    rows.map(({ updatedAt: _updatedAt, ...entry }) => entry),
    input,
  );
}
