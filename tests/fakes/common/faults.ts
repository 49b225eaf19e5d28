/**
 * Injected failures, consumed in order by the requests they match. Test-controlled faults are checked before the
 * fake's own behaviour (auth, pacing), so "the next request fails" means exactly that.
 */
import { int, isRecord, type JsonObject, str } from './json.ts';

export type FaultKind = 'status' | 'rateLimit' | 'delay' | 'hang' | 'drop';

export interface FaultMatch {
  /** HTTP method, any case. Omitted: every method. */
  method?: string;
  /**
   * A path relative to the base URL ("/v2/orders", "/order/placeorder") or a route pattern
   * ("/iserver/account/:accountId/orders"), or a RegExp tested against the relative path. Omitted: every path.
   */
  path?: string | RegExp;
}

export interface FaultSpec extends FaultMatch {
  kind: FaultKind;
  /** How many matching requests this fault answers (default 1). */
  count?: number;
  /** 'status': the HTTP status (default 500). */
  status?: number;
  /** 'status': a JSON body; with neither body nor text the broker's own error body for that status is sent. */
  body?: unknown;
  /** 'status': a plain-text body ("" for an empty one). */
  text?: string;
  /** 'delay': how long the response is held. */
  ms?: number;
  /**
   * 'delay', 'hang', 'drop': whether the request is carried out (an order stored) before the response is held or
   * the connection destroyed. Default true: the dangerous case, where a retry could double an order.
   */
  process?: boolean;
}

interface ActiveFault extends FaultSpec {
  remaining: number;
}

export class FaultQueue {
  private faults: ActiveFault[] = [];

  add(spec: FaultSpec): void {
    this.faults.push({ ...spec, remaining: spec.count ?? 1 });
  }

  clear(): void {
    this.faults = [];
  }

  list(): FaultSpec[] {
    return this.faults.map(({ remaining, ...spec }) => ({ ...spec, count: remaining }));
  }

  /** The first fault matching the request, consumed once; null when none applies. */
  take(method: string, path: string, pattern: string | null): FaultSpec | null {
    const index = this.faults.findIndex((fault) => matches(fault, method, path, pattern));
    const fault = this.faults[index];
    if (!fault) return null;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    return fault;
  }
}

function matches(fault: FaultMatch, method: string, path: string, pattern: string | null): boolean {
  if (fault.method && fault.method.toUpperCase() !== method.toUpperCase()) return false;
  if (fault.path === undefined) return true;
  if (fault.path instanceof RegExp) return fault.path.test(path);
  return fault.path === path || fault.path === pattern;
}

const KINDS: readonly FaultKind[] = ['status', 'rateLimit', 'delay', 'hang', 'drop'];

/** A FaultSpec from an admin request body; `pathRegex` (a string) stands in for a RegExp path. */
export function faultFromJson(body: unknown): FaultSpec {
  if (!isRecord(body)) throw new Error('fault body must be an object');
  const kind = str(body, 'kind');
  if (!kind || !KINDS.includes(kind as FaultKind)) throw new Error(`kind must be one of ${KINDS.join(', ')}`);
  const spec: FaultSpec = { kind: kind as FaultKind };
  const regex = str(body, 'pathRegex');
  const path = str(body, 'path');
  if (regex) spec.path = new RegExp(regex);
  else if (path) spec.path = path;
  copyOptional(body, spec);
  return spec;
}

function copyOptional(body: JsonObject, spec: FaultSpec): void {
  const method = str(body, 'method');
  if (method) spec.method = method;
  const count = int(body, 'count');
  if (count !== undefined) spec.count = count;
  const status = int(body, 'status');
  if (status !== undefined) spec.status = status;
  const ms = int(body, 'ms');
  if (ms !== undefined) spec.ms = ms;
  if (typeof body.process === 'boolean') spec.process = body.process;
  if (body.body !== undefined) spec.body = body.body;
  const text = str(body, 'text');
  if (text !== undefined) spec.text = text;
}
