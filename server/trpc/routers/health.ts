import { healthDetails } from '#shared/schemas/health.ts';
import { healthDetails as readHealthDetails } from '../../services/health/details.ts';
import { checkReadiness } from '../../services/health/readiness.ts';
import { serviceContext } from '../context.ts';
import { adminProcedure, publicProcedure, router } from '../init.ts';

export const healthRouter = router({
  /** Public summary: whether the service can take work. Component detail is for admins (health.details). */
  check: publicProcedure.query(async ({ ctx }) => {
    const readiness = await checkReadiness(ctx.deps);
    return { status: readiness.ready ? ('ok' as const) : ('degraded' as const), time: new Date() };
  }),
  /**
   * Administrators: per-component latency, this process's breakers, queue depths, open dead letters, pool use, and
   * every live api and worker process with its breakers and pools.
   */
  details: adminProcedure.output(healthDetails).query(({ ctx }) => readHealthDetails(serviceContext(ctx), ctx.deps)),
});
