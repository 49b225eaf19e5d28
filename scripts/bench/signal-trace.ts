/**
 * Follows each accepted alert of scripts/bench/signal-to-order.ts to the fake broker and the books: the 202's log id
 * → broker_orders.webhook_log_id → client order id `fp-<order id>` → the fake's order and its `receivedAtMs`, and
 * the order's trade (every alert buys a ticker of its own). Gives the latency from send to the fake, where it went
 * (stages read from the rows' created_at, DATETIME(3) on the same clock, so ±1 ms each) and the integrity counts.
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { type Posted, percentile } from './lib.ts';

/** Client order id → the fake's receive times of every order it stored under it (more than one is a duplicate). */
export type FakeOrders = Map<string, number[]>;

export async function fakeOrders(fakeUrl: string): Promise<FakeOrders> {
  const response = await fetch(`${fakeUrl}/__fake/state`);
  if (!response.ok) throw new Error(`fake state answered ${response.status}`);
  const state = (await response.json()) as { orders: { clientOrderId: string | null; receivedAtMs: number }[] };
  const orders: FakeOrders = new Map();
  for (const order of state.orders) {
    if (order.clientOrderId === null) continue;
    orders.set(order.clientOrderId, [...(orders.get(order.clientOrderId) ?? []), order.receivedAtMs]);
  }
  return orders;
}

export interface Spread {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 10) / 10;
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? Number.NaN),
  };
}

export interface SignalIntegrity {
  sent: number;
  accepted: number;
  non202: number;
  /** How many of each status other than 202 (e.g. {"503": 30}). */
  non202ByStatus: Record<string, number>;
  errors: number;
  /** Accepted alerts whose log never yielded an order, or yielded more than one. */
  withoutOrder: number;
  withSeveralOrders: number;
  /** Orders the fake never received (lost) and client order ids it stored more than once. */
  lostAtBroker: number;
  duplicateClientIds: number;
  /** Still `received`/`executing` at the end; not filled; no trade row. */
  unsettled: number;
  notFilled: number;
  withoutTrade: number;
  ok: boolean;
}

export interface SignalTrace {
  latencyMs: Spread;
  stagesMs: Record<'api' | 'engine' | 'submit' | 'fill', Spread>;
  integrity: SignalIntegrity;
  /** The fake's receive times of the accepted alerts' orders, and the latest trade row (epoch ms). */
  atBrokerMs: number[];
  lastTradeAtMs: number | null;
}

interface Row extends RowDataPacket {
  log_id: number;
  log_status: string;
  log_at: Date;
  order_id: number | null;
  client_order_id: string | null;
  order_status: string | null;
  order_at: Date | null;
  trade_at: Date | null;
}

export async function traceSignals(
  sql: Connection,
  posted: Posted[],
  fake: FakeOrders,
  afterLogId: number,
): Promise<SignalTrace> {
  const [rows] = await sql.query<Row[]>(
    `SELECT l.id AS log_id, l.status AS log_status, l.created_at AS log_at, o.id AS order_id,
            o.client_order_id, o.status AS order_status, o.created_at AS order_at, t.created_at AS trade_at
       FROM webhook_logs l
       LEFT JOIN broker_orders o ON o.webhook_log_id = l.id
       LEFT JOIN trades t ON t.strategy_id = o.strategy_id AND t.symbol = o.broker_symbol
      WHERE l.id > ?`,
    [afterLogId],
  );
  const byLog = new Map<number, Row[]>();
  for (const row of rows) byLog.set(Number(row.log_id), [...(byLog.get(Number(row.log_id)) ?? []), row]);

  const accepted = posted.filter((p) => p.status === 202 && p.id !== null);
  const integrity: SignalIntegrity = {
    sent: posted.length,
    accepted: accepted.length,
    non202: posted.filter((p) => p.status !== 202 && p.status !== 0).length,
    non202ByStatus: {},
    errors: posted.filter((p) => p.status === 0).length,
    withoutOrder: 0,
    withSeveralOrders: 0,
    lostAtBroker: 0,
    duplicateClientIds: [...fake.values()].filter((times) => times.length > 1).length,
    unsettled: 0,
    notFilled: 0,
    withoutTrade: 0,
    ok: false,
  };
  for (const p of posted) {
    if (p.status !== 202 && p.status !== 0) {
      integrity.non202ByStatus[p.status] = (integrity.non202ByStatus[p.status] ?? 0) + 1;
    }
  }
  const latency: number[] = [];
  const stages = { api: [] as number[], engine: [] as number[], submit: [] as number[], fill: [] as number[] };
  const atBrokerMs: number[] = [];
  let lastTradeAtMs: number | null = null;
  for (const alert of accepted) {
    const logRows = byLog.get(alert.id ?? 0) ?? [];
    const orders = logRows.filter((row) => row.order_id !== null);
    if (orders.length === 0) integrity.withoutOrder++;
    if (orders.length > 1) integrity.withSeveralOrders++;
    const log = logRows[0];
    if (!log || log.log_status === 'received' || log.log_status === 'executing') integrity.unsettled++;
    for (const order of orders) {
      if (order.order_status !== 'filled') integrity.notFilled++;
      const tradeAt = order.trade_at?.getTime() ?? null;
      if (tradeAt === null) integrity.withoutTrade++;
      else lastTradeAtMs = Math.max(lastTradeAtMs ?? tradeAt, tradeAt);
      const atBroker = fake.get(order.client_order_id ?? `fp-${order.order_id}`)?.[0];
      if (atBroker === undefined) {
        integrity.lostAtBroker++;
        continue;
      }
      atBrokerMs.push(atBroker);
      latency.push(atBroker - alert.sentAtMs);
      const logAt = order.log_at.getTime();
      const orderAt = order.order_at?.getTime() ?? logAt;
      stages.api.push(logAt - alert.sentAtMs);
      stages.engine.push(orderAt - logAt);
      stages.submit.push(atBroker - orderAt);
      if (tradeAt !== null) stages.fill.push(tradeAt - atBroker);
    }
  }
  const { sent, accepted: answered, non202ByStatus, ok, ...counts } = integrity;
  integrity.ok = answered === sent && Object.values(counts).every((count) => count === 0);
  return {
    latencyMs: spread(latency),
    stagesMs: {
      api: spread(stages.api),
      engine: spread(stages.engine),
      submit: spread(stages.submit),
      fill: spread(stages.fill),
    },
    integrity,
    atBrokerMs,
    lastTradeAtMs,
  };
}

/** The floor's alerts: the 202's row id → the fake's order `floor-<id>`. */
export function traceFloor(posted: Posted[], fake: FakeOrders) {
  const accepted = posted.filter((p) => p.status === 202 && p.id !== null);
  const latency: number[] = [];
  const atBrokerMs: number[] = [];
  let lost = 0;
  for (const alert of accepted) {
    const atBroker = fake.get(`floor-${alert.id}`)?.[0];
    if (atBroker === undefined) {
      lost++;
      continue;
    }
    atBrokerMs.push(atBroker);
    latency.push(atBroker - alert.sentAtMs);
  }
  const duplicates = [...fake.values()].filter((times) => times.length > 1).length;
  const integrity = {
    sent: posted.length,
    accepted: accepted.length,
    lostAtBroker: lost,
    duplicateClientIds: duplicates,
    ok: accepted.length === posted.length && lost === 0 && duplicates === 0,
  };
  return { latencyMs: spread(latency), integrity, atBrokerMs };
}
