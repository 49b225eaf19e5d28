import { type Job, UnrecoverableError } from 'bullmq';
import { maintenanceJobSchema } from '#shared/jobs.ts';
import type { DatabaseHandle } from '../../db/client.ts';
import type { Logger } from '../../lib/logger.ts';
import { purgeExpiredSessions } from '../../services/sessions/purge-expired.ts';

export function maintenanceProcessor(deps: { database: DatabaseHandle; log: Logger }) {
  return async (job: Job) => {
    const parsed = maintenanceJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid ${job.name} payload`);
    const ctx = {
      db: deps.database.db,
      log: deps.log.child({ queue: 'maintenance', job: job.name, jobId: job.id }),
      requestId: `job:${job.id}`,
      actor: { type: 'system' as const, job: job.name },
    };
    switch (job.name) {
      case 'purge-expired-sessions':
        return purgeExpiredSessions(ctx);
      default:
        throw new UnrecoverableError(`unknown maintenance job ${job.name}`);
    }
  };
}
