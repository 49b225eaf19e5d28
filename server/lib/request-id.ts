import { randomUUID } from 'node:crypto';

// Accept a caller's id only when it is short and plain, so it cannot inject into logs or headers.
const WELL_FORMED = /^[A-Za-z0-9._:-]{8,128}$/;

/** The caller's `x-request-id` when well-formed, otherwise a fresh UUID. */
export function newRequestId(header: string | string[] | undefined): string {
  const candidate = Array.isArray(header) ? header[0] : header;
  return candidate && WELL_FORMED.test(candidate) ? candidate : randomUUID();
}
