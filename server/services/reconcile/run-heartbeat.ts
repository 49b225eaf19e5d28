/**
 * A reconciliation run's heartbeat while it works (runs.ts): a timer, independent of whatever the run awaits, so a
 * broker call that takes minutes does not make a live run look dead. A beat that fails is logged, never thrown: the
 * run goes on, and only missing beats for the whole stale threshold can get it taken for dead.
 */
import type { Database } from '../../db/client.ts';
import type { ServiceContext } from '../context.ts';
import { touchRun } from './runs.ts';

/** Runs `work` while the run's heartbeat beats every `everyMs`; the timer is stopped (and its last beat awaited) after. */
export async function whileBeating<T>(
  ctx: ServiceContext,
  db: Database,
  runId: number,
  everyMs: number,
  work: () => Promise<T>,
): Promise<T> {
  let beating: Promise<void> | null = null;
  const beat = () => {
    // A beat still waiting for the database is enough; beats never pile up behind a slow pool.
    if (beating) return;
    beating = touchRun(db, runId)
      .then(
        (inProgress) => {
          if (inProgress) return;
          clearInterval(timer);
          ctx.log.warn({ runId }, 'reconciliation run was closed while it worked; its result will be dropped');
        },
        (err: unknown) => ctx.log.warn({ err, runId }, 'reconciliation run heartbeat not recorded'),
      )
      .finally(() => {
        beating = null;
      });
  };
  const timer = setInterval(beat, everyMs);
  // A heartbeat never keeps a stopping process alive.
  timer.unref();
  try {
    return await work();
  } finally {
    clearInterval(timer);
    // Finished before the run's result is written: a late beat must not look like a run closed under it.
    await beating;
  }
}
