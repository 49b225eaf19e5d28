/** Narrowing helpers for untyped JSON request bodies. */

export type JsonObject = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function str(obj: JsonObject, key: string): string | undefined {
  const value = obj[key];
  return typeof value === 'string' ? value : undefined;
}

export function bool(obj: JsonObject, key: string): boolean | undefined {
  const value = obj[key];
  return typeof value === 'boolean' ? value : undefined;
}

export function int(obj: JsonObject, key: string): number | undefined {
  const value = obj[key];
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

/** An integer sent as a number or a numeric string (ids that one source types as long and another as string). */
export function intLike(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  return undefined;
}

export function has(obj: JsonObject, key: string): boolean {
  return obj[key] !== undefined && obj[key] !== null;
}

/** Parses a body; `undefined` for an empty body, `INVALID` when it is not JSON. */
export const INVALID: unique symbol = Symbol('invalid-json');

export function parseBody(raw: string): unknown {
  if (raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return INVALID;
  }
}
