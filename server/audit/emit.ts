/**
 * emitAudit writes one audit row in the caller's transaction. It fails closed: if the row cannot be written the
 * error propagates and the change it describes rolls back with it. Secrets are stripped from old/new values.
 */
import { auditLogs } from '#drizzle/schema/audit_logs.ts';
import type { AuditActorType } from '#shared/enums.ts';
import type { Transaction } from '../db/transaction.ts';
import { scrubSecrets } from '../lib/scrub.ts';
import type { ServiceContext } from '../services/context.ts';

export interface AuditEntry {
  /** `{resource}.{verb}`, e.g. `strategy.update`, `auth.login_failed`. */
  action: string;
  resourceType?: string;
  resourceId?: number | string | null;
  oldValue?: Record<string, unknown> | null;
  newValue?: Record<string, unknown> | null;
  /** Overrides the acting user, e.g. the account a failed login targeted. */
  userId?: number | null;
  /** `admin` when an administrator acts through an admin procedure. */
  actorType?: AuditActorType;
}

/** A copy of `value` with every secret-looking key replaced by `[redacted]`, at any depth. */
export const stripSecrets = scrubSecrets;

function actorOf(ctx: ServiceContext): { actorType: AuditActorType; userId: number | null } {
  switch (ctx.actor.type) {
    case 'user':
      return { actorType: 'user', userId: ctx.actor.userId };
    case 'webhook':
      return { actorType: 'webhook', userId: ctx.actor.userId };
    case 'system':
      return { actorType: 'system', userId: null };
    default:
      return { actorType: 'user', userId: null };
  }
}

export async function emitAudit(tx: Transaction, ctx: ServiceContext, entry: AuditEntry): Promise<void> {
  const actor = actorOf(ctx);
  await tx.insert(auditLogs).values({
    userId: entry.userId === undefined ? actor.userId : entry.userId,
    actorType: entry.actorType ?? actor.actorType,
    action: entry.action,
    resourceType: entry.resourceType ?? null,
    resourceId: entry.resourceId === undefined || entry.resourceId === null ? null : String(entry.resourceId),
    oldValue: entry.oldValue ? (stripSecrets(entry.oldValue) as Record<string, unknown>) : null,
    newValue: entry.newValue ? (stripSecrets(entry.newValue) as Record<string, unknown>) : null,
    ipAddress: ctx.ip?.slice(0, 45) ?? null,
    userAgent: ctx.userAgent?.slice(0, 512) ?? null,
    requestId: ctx.requestId.slice(0, 64),
  });
}
