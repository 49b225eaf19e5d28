import type { Logger } from './logger.ts';
import { flushSentry } from './sentry.ts';

/**
 * A stray rejection is logged and the process keeps serving; an uncaught exception leaves the process in an unknown
 * state, so it is logged and the process exits for the supervisor to restart it, once Sentry (whose own handlers
 * capture both, when SENTRY_DSN is set) has had up to 2 s to send the event.
 */
export function installProcessGuards(log: Logger): void {
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection');
  });
  process.on('uncaughtException', (error) => {
    log.fatal({ err: error }, 'uncaught exception; exiting');
    void flushSentry(2_000)
      .catch(() => undefined)
      .finally(() => process.exit(1));
  });
}
