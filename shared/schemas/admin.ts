import { z } from 'zod';
import { AUDIT_ACTOR_TYPES, DEAD_LETTER_STATUSES, USER_ROLES } from '../enums.ts';
import { QUEUE_NAMES } from '../jobs.ts';
import { paginationInput } from '../pagination.ts';
import { idSchema } from './common.ts';

/** The audit trail, newest first. `from` is inclusive, `to` exclusive; both match `created_at`. */
export const auditListInput = paginationInput
  .extend({
    userId: idSchema.optional(),
    // `{resource}.{verb}`, e.g. `strategy.update`.
    action: z
      .string()
      .trim()
      .min(1)
      .max(64)
      .regex(/^[a-z0-9_.-]+$/, 'must look like resource.verb')
      .optional(),
    resourceType: z.string().trim().min(1).max(64).optional(),
    resourceId: z.string().trim().min(1).max(64).optional(),
    from: z.coerce.date().optional(),
    to: z.coerce.date().optional(),
  })
  .strict()
  .refine((input) => !input.from || !input.to || input.from < input.to, {
    message: '`from` must be earlier than `to`',
    path: ['to'],
  })
  .refine((input) => !input.resourceId || input.resourceType, {
    message: 'needs resourceType as well',
    path: ['resourceId'],
  });
export type AuditListInput = z.infer<typeof auditListInput>;

/** An audit row as admins see it; old and new values were stripped of secrets when the row was written. */
export const auditEntry = z.object({
  id: z.number(),
  userId: z.number().nullable(),
  actorType: z.enum(AUDIT_ACTOR_TYPES),
  action: z.string(),
  resourceType: z.string().nullable(),
  resourceId: z.string().nullable(),
  oldValue: z.record(z.string(), z.unknown()).nullable(),
  newValue: z.record(z.string(), z.unknown()).nullable(),
  ipAddress: z.string().nullable(),
  userAgent: z.string().nullable(),
  requestId: z.string().nullable(),
  createdAt: z.date(),
});
export type AuditEntry = z.infer<typeof auditEntry>;

export const userListInput = paginationInput
  .extend({
    // Matches anywhere in the email or the name.
    search: z.string().trim().min(1).max(100).optional(),
  })
  .strict();
export type UserListInput = z.infer<typeof userListInput>;

/** What admins see of an account: never the password hash. */
export const adminUser = z.object({
  id: z.number(),
  email: z.string(),
  name: z.string(),
  role: z.enum(USER_ROLES),
  // The trader's own switch.
  tradingEnabled: z.boolean(),
  // Set while an admin has stopped the user's trading (admin.users.setTradingEnabled); the trader cannot lift it.
  tradingLockedAt: z.date().nullable(),
  tradingLockedBy: z.number().nullable(),
  disabledAt: z.date().nullable(),
  lastLoginAt: z.date().nullable(),
  createdAt: z.date(),
});
export type AdminUser = z.infer<typeof adminUser>;

export const setRoleInput = z.object({ userId: idSchema, role: z.enum(USER_ROLES) }).strict();
export const disableUserInput = z.object({ userId: idSchema, disabled: z.boolean() }).strict();
/** The admins' kill switch: `enabled: false` locks the user's trading, `true` lifts the lock (not the trader's switch). */
export const setTradingEnabledInput = z.object({ userId: idSchema, enabled: z.boolean() }).strict();

export const auditPage = z.object({ items: z.array(auditEntry), nextCursor: z.number().nullable() });
export const adminUserPage = z.object({ items: z.array(adminUser), nextCursor: z.number().nullable() });

/** admin.deadLetters.list: owners see their own dead letters, administrators everyone's; newest first. */
export const deadLetterListInput = paginationInput
  .extend({
    status: z.enum(DEAD_LETTER_STATUSES).optional(),
    queue: z.enum(QUEUE_NAMES).optional(),
  })
  .strict();
export type DeadLetterListInput = z.infer<typeof deadLetterListInput>;

export const deadLetterIdInput = z.object({ id: idSchema }).strict();

/** A job that exhausted its attempts. `payload` is the job's data as enqueued (ids only); `error` its last reason. */
export const deadLetter = z.object({
  id: z.number(),
  queue: z.string(),
  jobName: z.string(),
  jobId: z.string().nullable(),
  // The owner, or null for a system job (and after the owner's account was removed).
  userId: z.number().nullable(),
  payload: z.record(z.string(), z.unknown()),
  error: z.string(),
  attempts: z.number(),
  status: z.enum(DEAD_LETTER_STATUSES),
  resolvedBy: z.number().nullable(),
  resolvedAt: z.date().nullable(),
  createdAt: z.date(),
});
export type DeadLetter = z.infer<typeof deadLetter>;

export const deadLetterPage = z.object({ items: z.array(deadLetter), nextCursor: z.number().nullable() });
