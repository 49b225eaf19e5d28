/**
 * Administration: the audit trail and accounts (adminProcedure; every mutation is audited with actor type `admin` by
 * its service verb), and dead letters, which owners use too: those procedures only need a signed-in caller, and the
 * service scopes them (an owner sees and acts on their own, an administrator on all).
 */
import {
  adminUser,
  adminUserPage,
  auditListInput,
  auditPage,
  deadLetter,
  deadLetterIdInput,
  deadLetterListInput,
  deadLetterPage,
  disableUserInput,
  setRoleInput,
  setTradingEnabledInput,
  userListInput,
} from '#shared/schemas/admin.ts';
import { queueStats } from '#shared/schemas/health.ts';
import { disableUser } from '../../services/admin/disable-user.ts';
import { listAudit } from '../../services/admin/list-audit.ts';
import { listUsers } from '../../services/admin/list-users.ts';
import { setRole } from '../../services/admin/set-role.ts';
import { setTradingEnabled } from '../../services/admin/set-trading-enabled.ts';
import { discardDeadLetter } from '../../services/dead-letters/discard.ts';
import { listDeadLetters } from '../../services/dead-letters/list.ts';
import { replayDeadLetter } from '../../services/dead-letters/replay.ts';
import { getQueueStats } from '../../services/health/details.ts';
import { serviceContext } from '../context.ts';
import { adminProcedure, protectedProcedure, router } from '../init.ts';

export const adminRouter = router({
  deadLetters: router({
    list: protectedProcedure
      .input(deadLetterListInput)
      .output(deadLetterPage)
      .query(({ ctx, input }) => listDeadLetters(serviceContext(ctx), input)),
    replay: protectedProcedure
      .input(deadLetterIdInput)
      .output(deadLetter)
      .mutation(({ ctx, input }) => replayDeadLetter(serviceContext(ctx), ctx.deps.enqueueReplay, input.id)),
    discard: protectedProcedure
      .input(deadLetterIdInput)
      .output(deadLetter)
      .mutation(({ ctx, input }) => discardDeadLetter(serviceContext(ctx), input.id)),
  }),
  queues: router({
    /** Job counts per queue and state, read from Redis at the call. */
    stats: adminProcedure.output(queueStats).query(({ ctx }) => getQueueStats(ctx.deps.readQueueStats)),
  }),
  audit: router({
    list: adminProcedure
      .input(auditListInput)
      .output(auditPage)
      .query(({ ctx, input }) => listAudit(serviceContext(ctx), input)),
  }),
  users: router({
    list: adminProcedure
      .input(userListInput)
      .output(adminUserPage)
      .query(({ ctx, input }) => listUsers(serviceContext(ctx), input)),
    setRole: adminProcedure
      .input(setRoleInput)
      .output(adminUser)
      .mutation(({ ctx, input }) => setRole(serviceContext(ctx), input)),
    disable: adminProcedure
      .input(disableUserInput)
      .output(adminUser)
      .mutation(({ ctx, input }) => disableUser(serviceContext(ctx), input)),
    setTradingEnabled: adminProcedure
      .input(setTradingEnabledInput)
      .output(adminUser)
      .mutation(({ ctx, input }) => setTradingEnabled(serviceContext(ctx), input)),
  }),
});
