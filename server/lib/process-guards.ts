import type { Logger } from './logger.ts';

/**
 * A stray rejection is logged and the process keeps serving; an uncaught exception leaves the process in an unknown
 * state, so it is logged and the process exits for the supervisor to restart it.
 */
export function installProcessGuards(log: Logger): void {
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection');
  });
  process.on('uncaughtException', (error) => {
    log.fatal({ err: error }, 'uncaught exception; exiting');
    process.exit(1);
  });
}
