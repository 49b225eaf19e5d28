/**
 * The one definition of what counts as a secret field, used by the logger and the audit trail alike, and the
 * scrubbing of errors before they are logged (database errors carry the statement's bound values: hashes,
 * ciphertexts, tokens).
 */

/** Field names whose values are never logged or audited. */
export const SECRET_KEY =
  /pass(word|phrase)|secret|token|credential|target|hash|api[-_]?key|authorization|cookie|(_enc|Enc)$|^sec$/i;

export const REDACTED = '[redacted]';
const MAX_DEPTH = 6;

/** A copy of `value` with the value of every secret-looking key replaced by `[redacted]`, at any depth. */
export function scrubSecrets(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object' || value instanceof Date) return value;
  if (value instanceof Error) return scrubError(value);
  if (Array.isArray(value)) return value.map((item) => scrubSecrets(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    out[key] =
      SECRET_KEY.test(key) && inner !== null && inner !== undefined ? REDACTED : scrubSecrets(inner, depth + 1);
  }
  return out;
}

// `Duplicate entry '<value>' for key …`: the value may be a token hash or an email.
const QUOTED_ENTRY = /(entry )'.*?'( for key)/gi;

/**
 * A loggable view of an error: type, code, a message and the stack frames, with no SQL text or bound values.
 * Drizzle's query errors put the statement and its parameters in the message; mysql2's put them in `sql`.
 */
export function scrubError(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) {
    // Already scrubbed (the log formatter and the `err` serializer may both see it) or not an error at all.
    return error !== null && typeof error === 'object'
      ? (scrubSecrets(error) as Record<string, unknown>)
      : { message: String(error).slice(0, 200) };
  }
  const fields = error as Error & Record<string, unknown>;
  const isQueryError = 'params' in fields || 'query' in fields || 'sql' in fields;
  const message = isQueryError ? 'database query failed' : error.message.replace(QUOTED_ENTRY, `$1'${REDACTED}'$2`);
  const frames = (error.stack ?? '').split('\n').filter((line) => line.startsWith('    at '));
  const out: Record<string, unknown> = {
    type: error.name,
    message,
    stack: [`${error.name}: ${message}`, ...frames].join('\n'),
  };
  for (const key of ['code', 'errno', 'sqlState', 'status', 'statusCode']) {
    if (fields[key] !== undefined) out[key] = fields[key];
  }
  if (typeof fields.sqlMessage === 'string')
    out.sqlMessage = fields.sqlMessage.replace(QUOTED_ENTRY, `$1'${REDACTED}'$2`);
  if (error.cause !== undefined && depth < 3) out.cause = scrubError(error.cause, depth + 1);
  return out;
}
