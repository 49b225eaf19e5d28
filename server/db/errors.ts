/** The MySQL error code (e.g. `ER_DUP_ENTRY`) of a failed query, looking through drizzle's wrapping errors. */
export function mysqlErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ER_')) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isDuplicateKey(error: unknown): boolean {
  return mysqlErrorCode(error) === 'ER_DUP_ENTRY';
}
