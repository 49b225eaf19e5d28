/**
 * Times every MySQL statement of the process through mysql2's diagnostics channels (`mysql2:query`,
 * `mysql2:execute`; no patching of the driver), feeds fillpath_db_query_duration_seconds and logs each statement
 * slower than SLOW_QUERY_MS with its text, literals replaced by `?`: Drizzle inlines bound values into the statement
 * mysql2 sees, and those values may be password hashes, ciphertexts or token hashes.
 * The clock runs from the statement's dispatch on its connection to its answer: waiting for a pooled connection is
 * the pool's gauges' business.
 */
import { tracingChannel } from 'node:diagnostics_channel';
import type { Logger } from '../lib/logger.ts';
import { observeQuery } from '../lib/metrics.ts';

const STARTED = Symbol('fillpath.queryStartedAt');
const STATEMENT_LOGGED_CHARS = 2_000;

interface QueryContext {
  query?: unknown;
  [STARTED]?: number;
}

// Quoted strings (with either escape style), hex and binary literals, numbers not part of an identifier.
const LITERAL =
  /'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|\b[xb]'[0-9a-f]*'|\b0x[0-9a-f]+\b|(?<![\w.`])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi;
// `(?, ?, ?, …)` of an IN list or a multi-row VALUES says nothing more than `(?, …)`.
const PLACEHOLDER_RUN = /\?(?:\s*,\s*\?){3,}/g;

/** The statement with every literal value replaced by `?`, shortened: what a slow-query log line may show. */
export function scrubStatement(statement: string): string {
  const scrubbed = statement.replace(LITERAL, '?').replace(PLACEHOLDER_RUN, '?, …').replace(/\s+/g, ' ').trim();
  return scrubbed.length > STATEMENT_LOGGED_CHARS ? `${scrubbed.slice(0, STATEMENT_LOGGED_CHARS)}…` : scrubbed;
}

let installed: { thresholdMs: number; log: Logger } | undefined;

/**
 * Starts timing statements, once per process (every pool shares the channels); later calls change nothing but
 * return the settings in force.
 */
export function watchQueryTimes(options: { thresholdMs: number; log: Logger }): { thresholdMs: number } {
  if (installed) return installed;
  installed = options;
  const settings = options;
  const handlers = {
    start(message: unknown) {
      (message as QueryContext)[STARTED] = performance.now();
    },
    // The driver's callback is about to run: the answer (rows or an error) is in.
    asyncStart(message: unknown) {
      const context = message as QueryContext;
      const startedAt = context[STARTED];
      if (startedAt === undefined) return;
      const elapsedMs = performance.now() - startedAt;
      const slow = elapsedMs >= settings.thresholdMs;
      observeQuery(elapsedMs, slow);
      if (slow) {
        const statement = typeof context.query === 'string' ? scrubStatement(context.query) : 'unknown statement';
        settings.log.warn({ durationMs: Math.round(elapsedMs), statement }, 'slow query');
      }
    },
    end() {},
    asyncEnd() {},
    error() {},
  };
  tracingChannel('mysql2:query').subscribe(handlers);
  tracingChannel('mysql2:execute').subscribe(handlers);
  return installed;
}
