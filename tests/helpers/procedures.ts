/**
 * The api's procedures as the router holds them, for tests that must cover every one: each path with its type, its
 * input schemas and its middlewares, whether it is for administrators only, and the top-level keys of its input.
 */
import { appRouter } from '../../server/trpc/app-router.ts';
import { adminProcedure, protectedProcedure } from '../../server/trpc/init.ts';

export interface ProcedureDef {
  type: 'query' | 'mutation' | 'subscription';
  inputs: unknown[];
  middlewares: unknown[];
}

/** Every procedure, by its dotted path (`notifications.channels.test`). */
export const PROCEDURES = Object.entries(
  appRouter._def.procedures as unknown as Record<string, { _def: ProcedureDef }>,
).map(([path, procedure]) => ({ path, def: procedure._def }));

/** The middleware adminProcedure adds to protectedProcedure: the mark of an administrator-only procedure. */
export const ADMIN_CHECKS = (adminProcedure._def.middlewares as unknown[]).filter(
  (middleware) => !(protectedProcedure._def.middlewares as unknown[]).includes(middleware),
);

export const isAdminOnly = (def: ProcedureDef) =>
  def.middlewares.some((middleware) => ADMIN_CHECKS.includes(middleware));

interface ZodDefLike {
  type: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  in?: unknown;
  options?: unknown[];
  left?: unknown;
  right?: unknown;
}
const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'nonoptional', 'readonly', 'catch']);

/**
 * The top-level keys of an input schema (zod 4), through defaults, optionals, pipes, unions and intersections
 * (`.refine` does not wrap in zod 4); null when the schema has a form this does not read, so a caller can fail
 * instead of silently seeing no keys.
 */
export function inputKeys(schema: unknown): string[] | null {
  const def = (schema as { _zod?: { def?: ZodDefLike } } | undefined)?._zod?.def;
  if (!def) return null;
  if (def.type === 'object') return Object.keys(def.shape ?? {});
  if (WRAPPERS.has(def.type)) return inputKeys(def.innerType);
  if (def.type === 'pipe') return inputKeys(def.in);
  const parts = def.type === 'union' ? (def.options ?? []) : def.type === 'intersection' ? [def.left, def.right] : null;
  if (!parts) return null;
  const keys = parts.map(inputKeys);
  return keys.some((k) => k === null) ? null : keys.flatMap((k) => k ?? []);
}
