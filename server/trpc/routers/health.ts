import { checkReadiness } from '../../services/health/readiness.ts';
import { publicProcedure, router } from '../init.ts';

export const healthRouter = router({
  /** Public summary: whether the service can take work. Component detail is for admins (health.details). */
  check: publicProcedure.query(async ({ ctx }) => {
    const readiness = await checkReadiness(ctx.deps);
    return { status: readiness.ready ? ('ok' as const) : ('degraded' as const), time: new Date() };
  }),
});
