/** The controls every fake shares, built over its engine, fault queue and clock. */
import type { FakeClock } from './clock.ts';
import { parseDecimal } from './decimal.ts';
import type { Engine, EngineFill, EngineOrder, FillConfig } from './engine.ts';
import { type FaultMatch, type FaultQueue, type FaultSpec, faultFromJson } from './faults.ts';
import { type AdminTable, countOf, objectBody } from './http.ts';

export interface HoldOptions extends FaultMatch {
  count?: number;
  /** Carry the request out (store the order) before holding/dropping. Default true. */
  process?: boolean;
}

export interface CommonControls<X> {
  /** Back to the state the fake started with: orders, fills, positions, prices, faults, sessions, clock. */
  reset(): void;
  /** The mark of a symbol; resting orders it crosses fill (per the fill policy). */
  setPrice(symbol: string, price: string | number): void;
  configureFills(fill: Partial<FillConfig>): FillConfig;
  /** A fill now on a working order (any fill mode); `qty` defaults to the next step, `price` to the mark. */
  fillOrder(orderId: string | number, options?: { qty?: string; price?: string }): EngineFill;
  /** The next `count` orders are acknowledged normally, then end rejected (an asynchronous rejection). */
  rejectNextAccepted(count?: number): void;
  /** The next `count` matching requests answer `status` (default 500) with the broker's error body. */
  failNext(count?: number, options?: FaultMatch & { status?: number; body?: unknown; text?: string }): void;
  /** The next matching request's response is held for `ms` (a slow broker; a client time-out). */
  delayNext(ms: number, options?: HoldOptions): void;
  /** The next matching request is never answered (until close()). */
  hangNext(options?: HoldOptions): void;
  /** The next matching request is carried out, then its connection destroyed with no response. */
  dropNextResponse(options?: HoldOptions): void;
  /** The next `count` matching requests answer the broker's 429. */
  rateLimitNext(count?: number, options?: FaultMatch): void;
  addFault(spec: FaultSpec): void;
  clearFaults(): void;
  listFaults(): FaultSpec[];
  /** Moves the fake's clock forward (token expiry, p-time, idle time-out, pacing windows). */
  advanceTime(ms: number): void;
  /** Every order the fake stored with this client order id (tests count them to prove no retry doubled one). */
  ordersByClientId(clientOrderId: string): EngineOrder<X>[];
  /** Resolves when `predicate` holds (re-checked on every state change); rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  snapshot(): unknown;
}

export function commonControls<X>(parts: {
  engine: Engine<X>;
  faults: FaultQueue;
  clock: FakeClock;
  reset(): void;
  snapshot(): unknown;
}): CommonControls<X> {
  const { engine, faults, clock } = parts;
  const orderOf = (id: string | number) => {
    const order = engine.get(String(id));
    if (!order) throw new Error(`no order ${id}`);
    return order;
  };
  return {
    reset: parts.reset,
    snapshot: parts.snapshot,
    setPrice(symbol, price) {
      const value = parseDecimal(price);
      if (value === null || !(Number(value) > 0)) throw new Error(`invalid price ${String(price)}`);
      engine.setPrice(symbol, value);
    },
    configureFills(fill) {
      return engine.configureFills(fill);
    },
    fillOrder(orderId, options = {}) {
      const qty = options.qty === undefined ? undefined : (parseDecimal(options.qty) ?? undefined);
      const price = options.price === undefined ? undefined : (parseDecimal(options.price) ?? undefined);
      return engine.fillManually(orderOf(orderId), qty, price);
    },
    rejectNextAccepted(count = 1) {
      engine.rejectNextAccepted(count);
    },
    failNext(count = 1, options = {}) {
      faults.add({ ...options, kind: 'status', count });
    },
    delayNext(ms, options = {}) {
      faults.add({ ...options, kind: 'delay', ms });
    },
    hangNext(options = {}) {
      faults.add({ ...options, kind: 'hang' });
    },
    dropNextResponse(options = {}) {
      faults.add({ ...options, kind: 'drop' });
    },
    rateLimitNext(count = 1, options = {}) {
      faults.add({ ...options, kind: 'rateLimit', count });
    },
    addFault: (spec) => faults.add(spec),
    clearFaults: () => faults.clear(),
    listFaults: () => faults.list(),
    advanceTime(ms) {
      clock.advance(ms);
      engine.notify();
    },
    ordersByClientId: (id) => engine.ordersByClientId(id),
    waitFor: (predicate, timeoutMs) => waitFor(engine, predicate, timeoutMs),
  };
}

/** Resolves once `predicate` holds, re-checked on every 'change' the engine emits; rejects after `timeoutMs`. */
function waitFor(engine: Engine<unknown>, predicate: () => boolean, timeoutMs = 2000): Promise<void> {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!predicate()) return;
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`fake broker: condition not met within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      engine.events.off('change', check);
    };
    engine.events.on('change', check);
  });
}

/** What every start function returns. */
export interface FakeBroker<State, Controls> {
  /** The base URL an adapter is configured with. */
  url: string;
  port: number;
  state: State;
  controls: Controls;
  close(): Promise<void>;
}

/** The `/__fake/<name>` endpoints every fake has, mirroring CommonControls. */
export function commonAdmin(controls: CommonControls<unknown>): AdminTable {
  return {
    reset: () => controls.reset(),
    state: () => controls.snapshot(),
    orders: (req) => {
      const id = req.query.get('clientOrderId');
      if (!id) throw new Error('clientOrderId query parameter is required');
      return controls.ordersByClientId(id);
    },
    price: (req) => {
      const { symbol, price } = objectBody(req);
      if (typeof symbol !== 'string' || (typeof price !== 'string' && typeof price !== 'number')) {
        throw new Error('body must be {symbol, price}');
      }
      controls.setPrice(symbol, price);
    },
    fills: (req) => controls.configureFills(fillConfigFromJson(objectBody(req))),
    fill: (req) => {
      const body = objectBody(req);
      if (typeof body.orderId !== 'string' && typeof body.orderId !== 'number') throw new Error('orderId is required');
      const options: { qty?: string; price?: string } = {};
      if (body.qty !== undefined) options.qty = String(body.qty);
      if (body.price !== undefined) options.price = String(body.price);
      return controls.fillOrder(body.orderId, options);
    },
    'reject-next-accepted': (req) => controls.rejectNextAccepted(countOf(req)),
    faults: (req) => {
      if (req.method === 'GET') {
        return controls
          .listFaults()
          .map((f) => (f.path instanceof RegExp ? { ...f, path: undefined, pathRegex: f.path.source } : f));
      }
      if (req.method === 'DELETE') return controls.clearFaults();
      controls.addFault(faultFromJson(req.body));
    },
    'advance-time': (req) => {
      const { ms } = objectBody(req);
      if (typeof ms !== 'number') throw new Error('body must be {ms}');
      controls.advanceTime(ms);
    },
  };
}

const MODES: readonly FillConfig['mode'][] = ['immediate', 'delay', 'polls', 'manual'];

export function fillConfigFromJson(body: Record<string, unknown>): Partial<FillConfig> {
  const fill: Partial<FillConfig> = {};
  if (body.mode !== undefined) {
    if (!MODES.includes(body.mode as FillConfig['mode'])) throw new Error(`mode must be one of ${MODES.join(', ')}`);
    fill.mode = body.mode as FillConfig['mode'];
  }
  for (const key of ['delayMs', 'polls', 'steps'] as const) {
    const value = body[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
      throw new Error(`${key} must be an integer`);
    fill[key] = key === 'steps' ? Math.max(1, value) : value;
  }
  return fill;
}
