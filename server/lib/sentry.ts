/**
 * Error reporting to Sentry when SENTRY_DSN is set (SPEC §10); without it @sentry/node is never even loaded.
 * Started by server/instrument.ts before anything else in the api and the worker.
 *
 * Only unexpected errors are reported, by the three places that know an error is unexpected: the tRPC error hook
 * (server/app.ts), the HTTP error handler (server/http/errors.ts) and the job runner (server/jobs/run-processor.ts),
 * plus Sentry's own handlers for uncaught exceptions and unhandled rejections. Typed service errors (4xx, rate
 * limits, broker rejections, unavailability) are answers, not bugs, and are never reported.
 *
 * What leaves the process is scrubbed like the logs: errors are reported as their scrubbed copies (no SQL text or
 * bound values, no duplicate-entry values), secret-named fields are redacted anywhere in the event, tokens are cut
 * from URLs, and the integrations that would attach request bodies, outgoing URLs (a Telegram bot URL carries its
 * token), local variables or raw framework errors are left out. Users are identified by id only, never by email.
 */
import { readFileSync } from 'node:fs';
import type * as SentryNode from '@sentry/node';
import { env } from './env.ts';
import { projectPath } from './paths.ts';
import { REDACTED, scrubError, scrubSecrets } from './scrub.ts';

type Sentry = typeof SentryNode;

/** Loaded by initSentry when a DSN is set; reportError is a no-op until then. */
let sentry: Sentry | undefined;

export interface ErrorContext {
  requestId?: string;
  userId?: number;
  /** tRPC procedure path or HTTP route template. */
  route?: string;
  queue?: string;
  job?: string;
  jobId?: string;
  attempt?: number;
}

export interface SentryOptions {
  dsn?: string;
  /** `api`, `worker`: tags every event, so one project serves both. */
  processName?: string;
  /** NODE_ENV unless given. */
  environment?: string;
}

// Error capture only: these add request data, outgoing URLs, child-process arguments, local variables or capture raw
// framework errors (the Fastify integration would report every 5xx again, unscrubbed).
const KEPT_INTEGRATIONS = new Set([
  'EventFilters',
  'FunctionToString',
  'LinkedErrors',
  'Dedupe',
  'NodeSystemError',
  'OnUncaughtException',
  'OnUnhandledRejection',
  'ContextLines',
  'Context',
  'Modules',
]);

const WEBHOOK_TOKEN_IN_PATH = /(\/webhooks\/tradingview\/)[^/?#\s]+/g;
const TOKEN_IN_QUERY = /([?&](?:token|connectionParams|access_token)=)[^&\s]*/gi;
const TELEGRAM_BOT_TOKEN = /(\/bot)\d+:[A-Za-z0-9_-]+/g;
const BEARER = /(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi;
const FAILED_QUERY = /^Failed query:/;

/** Text that may quote a URL, a header or a statement, with the secrets cut out. */
function scrubText(text: string): string {
  if (FAILED_QUERY.test(text)) return 'database query failed';
  return text
    .replace(WEBHOOK_TOKEN_IN_PATH, `$1${REDACTED}`)
    .replace(TOKEN_IN_QUERY, `$1${REDACTED}`)
    .replace(TELEGRAM_BOT_TOKEN, `$1${REDACTED}`)
    .replace(BEARER, `$1${REDACTED}`);
}

/** The error as reported: the scrubbed message and stack of scrubError, with its causes (Sentry links them). */
function reportable(error: unknown, depth = 0): Error {
  const scrubbed = scrubError(error);
  // A database error's code and server message (values scrubbed) say what failed without the statement.
  const detail = [scrubbed.code, scrubbed.sqlMessage].filter((part) => part !== undefined).join(': ');
  const message = `${String(scrubbed.message ?? 'error')}${detail && scrubbed.sqlMessage ? ` (${detail})` : ''}`;
  const copy = new Error(scrubText(message));
  copy.name = String(scrubbed.type ?? 'Error');
  copy.stack = typeof scrubbed.stack === 'string' ? scrubText(scrubbed.stack) : `${copy.name}: ${copy.message}`;
  if (error instanceof Error && error.cause !== undefined && depth < 3) copy.cause = reportable(error.cause, depth + 1);
  return copy;
}

type SentryEvent = SentryNode.ErrorEvent;

/** The last look at every event before it leaves: nothing secret-named, no URL tokens, the user as an id. */
export function scrubEvent(event: SentryEvent): SentryEvent {
  for (const exception of event.exception?.values ?? []) {
    if (exception.value) exception.value = scrubText(exception.value);
  }
  if (event.message) event.message = scrubText(event.message);
  if (event.request) {
    const { method, url } = event.request;
    event.request = { method, url: url ? scrubText(url.split('?')[0] ?? '') : undefined };
  }
  if (event.user) event.user = event.user.id === undefined ? undefined : { id: event.user.id };
  if (event.extra) event.extra = scrubSecrets(event.extra) as SentryEvent['extra'];
  if (event.contexts) event.contexts = scrubSecrets(event.contexts) as SentryEvent['contexts'];
  if (event.breadcrumbs) event.breadcrumbs = event.breadcrumbs.map(scrubBreadcrumb);
  return event;
}

function scrubBreadcrumb(breadcrumb: SentryNode.Breadcrumb): SentryNode.Breadcrumb {
  return {
    ...breadcrumb,
    ...(breadcrumb.message ? { message: scrubText(breadcrumb.message) } : {}),
    ...(breadcrumb.data ? { data: scrubSecrets(breadcrumb.data) as Record<string, unknown> } : {}),
  };
}

function release(): string | undefined {
  try {
    const { version } = JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version?: string };
    return version ? `fillpath@${version}` : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts Sentry once per process; true when it is (or already was) running. A second call, e.g. from the bundle's
 * own copy of this module after dist/instrument.js started it, finds the running client and only takes it over.
 */
export async function initSentry(options: SentryOptions = {}): Promise<boolean> {
  const dsn = options.dsn ?? env.SENTRY_DSN;
  if (!dsn) return false;
  const loaded = await import('@sentry/node');
  if (!loaded.getClient()) {
    loaded.init({
      dsn,
      environment: options.environment ?? env.NODE_ENV,
      release: release(),
      // Nothing about requests, users, queries, jobs or local variables is collected by the SDK itself.
      dataCollection: {
        userInfo: false,
        cookies: false,
        httpHeaders: false,
        httpBodies: [],
        urlQueryParams: false,
        databaseQueryData: false,
        queues: false,
        stackFrameVariables: false,
      },
      sendClientReports: false,
      integrations: (defaults) => defaults.filter((integration) => KEPT_INTEGRATIONS.has(integration.name)),
      beforeSend: scrubEvent,
      beforeBreadcrumb: (breadcrumb) =>
        breadcrumb.category === 'http' || breadcrumb.category === 'fetch' ? null : scrubBreadcrumb(breadcrumb),
      initialScope: options.processName ? { tags: { process: options.processName } } : undefined,
    });
  }
  sentry = loaded;
  return true;
}

/** Reports an unexpected error once, tagged with what identifies its request or job. Never throws. */
export function reportError(error: unknown, context: ErrorContext = {}): void {
  if (!sentry) return;
  try {
    const tags: Record<string, string> = {};
    if (context.requestId) tags.request_id = context.requestId;
    if (context.route) tags.route = context.route;
    if (context.queue) tags.queue = context.queue;
    if (context.job) tags.job = context.job;
    if (context.jobId) tags.job_id = context.jobId;
    if (context.attempt !== undefined) tags.attempt = String(context.attempt);
    sentry.captureException(reportable(error), {
      tags,
      ...(context.userId === undefined ? {} : { user: { id: String(context.userId) } }),
    });
  } catch {
    // Reporting must never turn one failure into two.
  }
}

/** Sends what is queued, waiting at most `timeoutMs` (the last step of a shutdown). */
export async function flushSentry(timeoutMs = 2_000): Promise<void> {
  await sentry?.flush(timeoutMs);
}
