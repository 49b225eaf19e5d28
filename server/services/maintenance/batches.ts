/**
 * The loop every data-growth purge runs in: small batches, each its own short autocommit statement, a pause between
 * them so replication and InnoDB's purge thread keep up and the hot path gets the pool back, and a time budget per
 * run so a large backlog is worked off over several scheduled runs instead of holding the maintenance queue (which
 * also carries the outbox sweep) for minutes.
 */
export interface BatchOptions {
  /** Rows per statement. */
  batchSize?: number;
  /** Pause between two batches. */
  pauseMs?: number;
  /** No new batch starts once this much time has passed since the run began. */
  budgetMs?: number;
}

export const BATCH_DEFAULTS = { batchSize: 1_000, pauseMs: 50, budgetMs: 15_000 } as const;

export interface BatchStep {
  /** Rows this batch changed or deleted. */
  changed: number;
  /** Nothing is left to do. */
  done: boolean;
}

export interface BatchRun {
  /** Rows changed or deleted over the whole run. */
  changed: number;
  batches: number;
  /** False when the time budget ran out first: the next scheduled run carries on. */
  finished: boolean;
}

/** Calls `step(batchSize)` until it reports `done` or the budget is spent. */
export async function runInBatches(
  options: BatchOptions,
  step: (batchSize: number) => Promise<BatchStep>,
): Promise<BatchRun> {
  const batchSize = options.batchSize ?? BATCH_DEFAULTS.batchSize;
  const pauseMs = options.pauseMs ?? BATCH_DEFAULTS.pauseMs;
  const budgetMs = options.budgetMs ?? BATCH_DEFAULTS.budgetMs;
  const started = Date.now();
  let changed = 0;
  let batches = 0;
  for (;;) {
    const result = await step(batchSize);
    batches += 1;
    changed += result.changed;
    if (result.done) return { changed, batches, finished: true };
    if (Date.now() - started >= budgetMs) return { changed, batches, finished: false };
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

export function daysBefore(now: Date, days: number): Date {
  return new Date(now.getTime() - days * 24 * 3_600 * 1_000);
}
