/**
 * Process lifecycle shared by the api and the worker: readiness reports `draining` from the first shutdown signal,
 * and shutdown runs its steps in order under one deadline (PITFALLS §1: `worker.close()` has no timeout of its own).
 */
import type { Logger } from './logger.ts';

export interface Lifecycle {
  /** From the first shutdown signal: readiness is 503, so load balancers stop sending new traffic. */
  readonly draining: boolean;
  /** From the moment the api stops accepting (after its grace period): late requests are refused. */
  readonly closing: boolean;
  startDraining(): void;
  startClosing(): void;
}

export function createLifecycle(): Lifecycle {
  let draining = false;
  let closing = false;
  return {
    get draining() {
      return draining;
    },
    get closing() {
      return closing;
    },
    startDraining() {
      draining = true;
    },
    startClosing() {
      draining = true;
      closing = true;
    },
  };
}

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown>;
}

// Steps reached after the deadline (closing pools, flushing) still get this long: they are quick and worth doing.
const LATE_STEP_MS = 1_000;

/**
 * Runs the steps one after another; each gets what is left of `deadlineMs` (or LATE_STEP_MS once it has passed).
 * Resolves true when every step finished in time. A step that fails or overruns is logged and the next step still
 * runs, so connections are always closed.
 */
export async function runShutdown(steps: ShutdownStep[], deadlineMs: number, log: Logger): Promise<boolean> {
  const deadline = Date.now() + deadlineMs;
  let clean = true;
  for (const step of steps) {
    const left = deadline - Date.now();
    const budget = left > 0 ? left : LATE_STEP_MS;
    let timer: NodeJS.Timeout | undefined;
    try {
      const outcome = await Promise.race([
        step.run().then(() => 'done' as const),
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), budget);
        }),
      ]);
      if (outcome === 'timeout') {
        clean = false;
        log.error({ step: step.name, budgetMs: budget }, 'shutdown step overran its time');
      }
    } catch (err) {
      clean = false;
      log.error({ err, step: step.name }, 'shutdown step failed');
    } finally {
      clearTimeout(timer);
    }
  }
  return clean;
}

/**
 * Installs SIGTERM/SIGINT handlers: the first signal drains and runs the shutdown, a second one exits at once.
 * `exit` is injectable so tests can observe the code instead of losing the process.
 */
export function handleShutdownSignals(
  lifecycle: Lifecycle,
  shutdown: () => Promise<boolean>,
  log: Logger,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (lifecycle.draining) {
      log.warn({ signal }, 'second signal: exiting now');
      exit(1);
      return;
    }
    log.info({ signal }, 'shutting down');
    lifecycle.startDraining();
    shutdown().then(
      (clean) => exit(clean ? 0 : 1),
      (err) => {
        log.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
