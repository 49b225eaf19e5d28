/**
 * pino, JSON in production and pretty in development, with secrets redacted wherever they may appear: headers,
 * any field with a secret's name (server/lib/scrub.ts), errors (no SQL text or bound values) and the webhook token
 * inside URLs.
 */
import { type BaseLogger, type Bindings, type ChildLoggerOptions, type LoggerOptions, pino } from 'pino';
import { env } from './env.ts';
import { scrubError, scrubSecrets } from './scrub.ts';

/** What code may rely on: pino's logging methods and child loggers. Fastify's request loggers fit it too. */
export type Logger = Omit<BaseLogger, 'msgPrefix'> & {
  child(bindings: Bindings, options?: ChildLoggerOptions): Logger;
};

// Exact paths pino can censor without walking the object; scrubSecrets catches secret keys anywhere else.
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
];

const WEBHOOK_TOKEN_IN_PATH = /(\/webhooks\/tradingview\/)[^/?#]+/;
const TOKEN_IN_QUERY = /([?&](?:token|connectionParams|access_token)=)[^&]*/gi;

/** Strips the webhook token and token-bearing query parameters from a URL before it is logged. */
export function redactUrl(url: string): string {
  return url.replace(WEBHOOK_TOKEN_IN_PATH, '$1[redacted]').replace(TOKEN_IN_QUERY, '$1[redacted]');
}

/**
 * Secret-named fields scrubbed at any depth. pino runs this before the serializers, so the request and the reply are
 * left to theirs (which keep only safe fields): a copy of either would keep its own fields only, losing the method,
 * URL and status, which are getters.
 */
function scrubLogObject(object: Record<string, unknown>): Record<string, unknown> {
  const { req, res, ...rest } = object;
  const scrubbed = scrubSecrets(rest) as Record<string, unknown>;
  if (req !== undefined) scrubbed.req = req;
  if (res !== undefined) scrubbed.res = res;
  return scrubbed;
}

export function loggerOptions(overrides: LoggerOptions = {}): LoggerOptions {
  return {
    level: env.LOG_LEVEL,
    base: { service: 'fillpath' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { log: scrubLogObject },
    serializers: {
      err: scrubError,
      req: (req: { method?: string; url?: string; id?: string; ip?: string }) => ({
        method: req.method,
        url: req.url ? redactUrl(req.url) : undefined,
        id: req.id,
        ip: req.ip,
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
    ...(env.LOG_PRETTY && !env.LOG_FILE
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } }
      : {}),
    ...overrides,
  };
}

// Synchronous file writes: a test worker or crashing process must not lose its last lines.
export const logger: Logger = env.LOG_FILE
  ? pino(loggerOptions(), pino.destination({ dest: env.LOG_FILE, append: true, sync: true, mkdir: true }))
  : pino(loggerOptions());
