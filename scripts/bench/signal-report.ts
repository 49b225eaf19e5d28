/**
 * The output of scripts/bench/signal-to-order.ts: the table of budgets (measured, floor, ratio, budget, pass/short),
 * the detail lines (latency without queueing, where the time goes, B4 rates, CPU per signal, integrity, memory) and
 * bench-results/signal-to-order.json. A missed budget is added to `failures`, as scripts/bench/webhooks.ts does.
 */
import { type memoryMb, type Posted, writeResults } from './lib.ts';
import type { SignalTrace, Spread, traceFloor } from './signal-trace.ts';

export interface Settings {
  rate: number;
  durationS: number;
  lowRate: number;
  lowS: number;
  b4Signals: number;
  strategiesPerUser: number;
  childEnv: Record<string, string>;
  budget: { b2P50Ms: number; b2P99Ms: number; b4PerS: number; rssMb: number };
}

type Memory = { api: ReturnType<typeof memoryMb>; worker: ReturnType<typeof memoryMb> };
/** CPU ms (user and kernel) the api and the worker spent per accepted signal during a phase. */
type Cpu = { user: number; system: number } | null;
export type CpuPerSignal = { api: Cpu; worker: Cpu };

export interface Results {
  routes: { b2: number; b4: number };
  low: { posted: Posted[]; trace: SignalTrace };
  b2: { posted: Posted[]; trace: SignalTrace; unsettled: number; cpu: CpuPerSignal };
  b2Floor: ReturnType<typeof traceFloor>;
  b4: {
    posted: Posted[];
    trace: SignalTrace;
    unsettled: number;
    cpu: CpuPerSignal;
    samples: { atMs: number; trades: number }[];
  };
  b4Floor: ReturnType<typeof traceFloor> & { posted: Posted[] };
  memory: { ready: Memory; afterB2: Memory; afterB4: Memory };
}

const perSecond = (count: number, fromMs: number, toMs: number | null | undefined) =>
  toMs && toMs > fromMs ? Math.round((count * 1000) / (toMs - fromMs)) : 0;
const firstSent = (posted: Posted[]) => posted.reduce((a, p) => Math.min(a, p.sentAtMs), Infinity);
const maxOf = (values: number[]) => values.reduce((a, b) => Math.max(a, b), 0);
const sendRate = (posted: Posted[]) =>
  perSecond(posted.length, firstSent(posted), maxOf(posted.map((p) => p.sentAtMs)));
const ingestRate = (posted: Posted[]) =>
  perSecond(posted.length, firstSent(posted), maxOf(posted.map((p) => p.answeredAtMs)));
const fmtSpread = (s: Spread) => `n=${s.n} p50=${s.p50} p90=${s.p90} p99=${s.p99} max=${s.max}`;
const mem = (m: ReturnType<typeof memoryMb>) => (m ? `${m.rss} (peak ${m.peak})` : '?');

/** Per second between 10 % and 90 % of `total` in the samples: the rate once started and before the tail. */
function steadyRate(samples: { atMs: number; trades: number }[], total: number): number | null {
  const from = samples.find((s) => s.trades >= total * 0.1);
  const to = samples.find((s) => s.trades >= total * 0.9);
  if (!from || !to || to.atMs <= from.atMs) return null;
  return Math.round(((to.trades - from.trades) * 1000) / (to.atMs - from.atMs));
}

function tableRow(cells: string[]): string {
  const widths = [30, 16, 9, 9, 12, 7];
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[0] ?? 0) : c.padStart(widths[i] ?? 9))).join(' ');
}

function printStages(name: string, t: SignalTrace): void {
  console.log(`${name}, where the time goes (ms; stage ends read from DATETIME(3) rows, ±1 ms):`);
  console.log(`  api     send → log row        ${fmtSpread(t.stagesMs.api)}`);
  console.log(`  engine  log row → order row   ${fmtSpread(t.stagesMs.engine)}`);
  console.log(`  submit  order row → at fake   ${fmtSpread(t.stagesMs.submit)}`);
  console.log(`  fill    at fake → trade row   ${fmtSpread(t.stagesMs.fill)}`);
}

export function report(r: Results, s: Settings, failures: string[], wallS: number): void {
  const b2 = r.b2.trace;
  const b2Floor = r.b2Floor.latencyMs;
  const b4Trace = r.b4.trace;
  const b4Start = firstSent(r.b4.posted);
  const traded = b4Trace.integrity.accepted - b4Trace.integrity.withoutTrade;
  const b4 = {
    signals: s.b4Signals,
    endToEndPerS: perSecond(traded, b4Start, b4Trace.lastTradeAtMs),
    steadyPerS: steadyRate(r.b4.samples, b4Trace.integrity.accepted),
    ingestPerS: ingestRate(r.b4.posted),
    atBrokerPerS: perSecond(b4Trace.atBrokerMs.length, b4Start, maxOf(b4Trace.atBrokerMs)),
    wallS: Math.round(((b4Trace.lastTradeAtMs ?? b4Start) - b4Start) / 100) / 10,
  };
  const b4FloorPerS = perSecond(r.b4Floor.atBrokerMs.length, firstSent(r.b4Floor.posted), maxOf(r.b4Floor.atBrokerMs));
  const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : '-');
  const verdict = (ok: boolean, what: string) => {
    if (!ok) failures.push(`${what} short of its budget`);
    return ok ? 'pass' : 'short';
  };
  const { budget } = s;
  const { api, worker } = r.memory.afterB4;
  const rows = [
    ['row', 'measured', 'floor', 'x floor', 'budget', 'result'],
    ['B2 p50 ms send → fake', `${b2.latencyMs.p50}`, `${b2Floor.p50}`, ratio(b2.latencyMs.p50, b2Floor.p50)].concat([
      `<= ${budget.b2P50Ms}`,
      verdict(b2.latencyMs.p50 <= budget.b2P50Ms, 'B2 p50'),
    ]),
    ['B2 p99 ms send → fake', `${b2.latencyMs.p99}`, `${b2Floor.p99}`, ratio(b2.latencyMs.p99, b2Floor.p99)].concat([
      `<= ${budget.b2P99Ms}`,
      verdict(b2.latencyMs.p99 <= budget.b2P99Ms, 'B2 p99'),
    ]),
    [
      'B4 signals/s webhook → trade',
      `${b4.endToEndPerS}`,
      `${b4FloorPerS}`,
      ratio(b4.endToEndPerS, b4FloorPerS),
    ].concat([`>= ${budget.b4PerS}`, verdict(b4.endToEndPerS >= budget.b4PerS, 'B4 throughput')]),
    ['B5 api RSS MB after B4', mem(api), '-', '-', `<= ${budget.rssMb}`].concat([
      verdict((api?.rss ?? Infinity) <= budget.rssMb, 'B5 api RSS'),
    ]),
    ['B5 worker RSS MB after B4', mem(worker), '-', '-', `<= ${budget.rssMb}`].concat([
      verdict((worker?.rss ?? Infinity) <= budget.rssMb, 'B5 worker RSS'),
    ]),
  ];
  const users = s.strategiesPerUser === 1 ? 'each its own trader' : `${s.strategiesPerUser} per trader`;
  console.log(`\nB2/B4/B5 signal → order at the fake Alpaca: ${r.routes.b2} + ${r.routes.b4} strategies, ${users}`);
  for (const row of rows) console.log(tableRow(row));
  console.log(
    `B2 at ${s.lowRate}/s for ${s.lowS} s (no queueing; info): latency ms ${fmtSpread(r.low.trace.latencyMs)}`,
  );
  printStages(`B2 at ${s.lowRate}/s`, r.low.trace);
  console.log(
    `B2 at ${s.rate}/s for ${s.durationS} s (sent at ${sendRate(r.b2.posted)}/s): latency ms ${fmtSpread(b2.latencyMs)}` +
      `; floor ${fmtSpread(b2Floor)}`,
  );
  printStages(`B2 at ${s.rate}/s`, b2);
  console.log(
    `B4 ${s.b4Signals} alerts: api answered ${b4.ingestPerS}/s, orders at the fake ${b4.atBrokerPerS}/s, trades ` +
      `${b4.endToEndPerS}/s end to end over ${b4.wallS} s (steady ${b4.steadyPerS ?? '?'}/s); floor ${b4FloorPerS}/s`,
  );
  const one = (c: Cpu) =>
    c ? `${Math.round((c.user + c.system) * 100) / 100} (user ${c.user}, kernel ${c.system})` : '?';
  const cpu = (c: CpuPerSignal) => `api ${one(c.api)}, worker ${one(c.worker)}`;
  console.log(`CPU ms per signal: B2 ${cpu(r.b2.cpu)}; B4 ${cpu(r.b4.cpu)}`);
  const integrity = (name: string, i: { ok: boolean }) =>
    console.log(`integrity ${name}: ${i.ok ? 'OK' : 'FAILED'} ${JSON.stringify(i)}`);
  integrity('B2', b2.integrity);
  integrity('B4', b4Trace.integrity);
  integrity('B2 floor', r.b2Floor.integrity);
  integrity('B4 floor', r.b4Floor.integrity);
  for (const [when, m] of Object.entries(r.memory)) {
    console.log(`memory ${when}: api ${mem(m.api)} MB, worker ${mem(m.worker)} MB`);
  }

  const json = {
    id: 'B2/B4/B5',
    at: new Date().toISOString(),
    settings: s,
    strategies: r.routes,
    b2: {
      sentPerS: sendRate(r.b2.posted),
      latencyMs: b2.latencyMs,
      stagesMs: b2.stagesMs,
      integrity: b2.integrity,
      unsettled: r.b2.unsettled,
      cpuMsPerSignal: r.b2.cpu,
    },
    b2LowRate: { latencyMs: r.low.trace.latencyMs, stagesMs: r.low.trace.stagesMs },
    b2Floor: { latencyMs: b2Floor, integrity: r.b2Floor.integrity },
    b4: {
      ...b4,
      latencyMs: b4Trace.latencyMs,
      stagesMs: b4Trace.stagesMs,
      integrity: b4Trace.integrity,
      unsettled: r.b4.unsettled,
      cpuMsPerSignal: r.b4.cpu,
    },
    b4Floor: { perS: b4FloorPerS, integrity: r.b4Floor.integrity },
    memoryMb: r.memory,
    failures,
    pass: failures.length === 0,
    wallS,
  };
  writeResults('signal-to-order', 'B2/B4/B5', json, failures);
}
