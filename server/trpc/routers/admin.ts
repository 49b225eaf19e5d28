/**
 * Administration: the audit trail and accounts. Every procedure is adminProcedure; every mutation is audited with
 * actor type `admin` by its service verb.
 */
import {
  adminUser,
  adminUserPage,
  auditListInput,
  auditPage,
  disableUserInput,
  setRoleInput,
  setTradingEnabledInput,
  userListInput,
} from '#shared/schemas/admin.ts';
import { disableUser } from '../../services/admin/disable-user.ts';
import { listAudit } from '../../services/admin/list-audit.ts';
import { listUsers } from '../../services/admin/list-users.ts';
import { setRole } from '../../services/admin/set-role.ts';
import { setTradingEnabled } from '../../services/admin/set-trading-enabled.ts';
import { serviceContext } from '../context.ts';
import { adminProcedure, router } from '../init.ts';

export const adminRouter = router({
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
