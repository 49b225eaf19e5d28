/**
 * The one table of SPEC §12 (`npm run bench` prints it last): B1–B6 from the results each benchmark wrote under
 * bench-results/, with the result, the budget, the floor measured in the same run, the ratio to it where the budget
 * has one, and pass/short; also written as bench-results.json. A benchmark that wrote nothing shows as missing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { projectPath } from '../../server/lib/paths.ts';

/** The parts of each benchmark's results file (webhooks.ts, signal-to-order.ts, portfolio.ts) the table reads. */
interface WebhooksResult {
  api: { acceptedPerS: number; p99Ms: number };
  floor: { acceptedPerS: number; p99Ms: number };
  ratioToFloor: number;
  apiRssMb?: number;
  apiReadyMs?: number;
}
type Percentiles = { p50: number; p99: number };
type Rss = { rss: number };
interface SignalsResult {
  b2: { latencyMs: Percentiles };
  b2Floor: { latencyMs: Percentiles };
  b4: { endToEndPerS: number };
  b4Floor: { perS: number };
  memoryMb?: { afterB4?: { api: Rss; worker: Rss } };
}
interface PortfolioResult {
  uncached: { p95Ms: number };
  cached: { perS: number; p99Ms: number };
  floor: { sql: { p95Ms: number }; healthLive: { perS: number } };
}

/** `--since <ISO time>` (all.ts passes its start): results written before it are an earlier run's, so missing. */
const sinceArg = process.argv.indexOf('--since');
const since = sinceArg > 0 ? Date.parse(process.argv[sinceArg + 1] ?? '') : Number.NaN;

function load<T>(name: string): T | null {
  try {
    const result = JSON.parse(readFileSync(projectPath(`bench-results/${name}.json`), 'utf8')) as T & { at?: string };
    if (!Number.isNaN(since) && Date.parse(result.at ?? '') < since) return null;
    return result;
  } catch {
    return null;
  }
}

interface Row {
  id: string;
  workload: string;
  result: string;
  budget: string;
  floor: string;
  ratio: string;
  verdict: 'pass' | 'short' | 'missing';
}

const num = (value: number) => value.toLocaleString('en-US', { maximumFractionDigits: 1 });
const ratioOf = (value: number, floor: number) => (floor > 0 ? `${(value / floor).toFixed(2)} ×` : '-');
const verdict = (ok: boolean): Row['verdict'] => (ok ? 'pass' : 'short');
const missing = (id: string, workload: string, budget: string): Row => ({
  id,
  workload,
  result: 'not measured',
  budget,
  floor: '-',
  ratio: '-',
  verdict: 'missing',
});

export function summarize(): Row[] {
  const b1 = load<WebhooksResult>('webhooks');
  const signals = load<SignalsResult>('signal-to-order');
  const b3 = load<PortfolioResult>('portfolio');
  const rows: Row[] = [];

  if (b1) {
    const { acceptedPerS, p99Ms } = b1.api;
    const ok = acceptedPerS >= 7_000 && p99Ms <= 25 && b1.ratioToFloor >= 0.65;
    rows.push({
      id: 'B1',
      workload: 'webhook ingest, 64 connections',
      result: `${num(acceptedPerS)}/s, p99 ${p99Ms} ms`,
      budget: '≥ 7,000/s, p99 ≤ 25 ms, ≥ 0.65 × floor',
      floor: `${num(b1.floor.acceptedPerS)}/s, p99 ${b1.floor.p99Ms} ms`,
      ratio: ratioOf(acceptedPerS, b1.floor.acceptedPerS),
      verdict: verdict(ok),
    });
  } else rows.push(missing('B1', 'webhook ingest, 64 connections', '≥ 7,000/s, p99 ≤ 25 ms, ≥ 0.65 × floor'));

  if (signals) {
    const latency = signals.b2.latencyMs;
    rows.push({
      id: 'B2',
      workload: 'signal → order at the fake Alpaca, 500/s',
      result: `p50 ${num(latency.p50)} ms, p99 ${num(latency.p99)} ms`,
      budget: 'p50 ≤ 15 ms, p99 ≤ 60 ms',
      floor: `p50 ${num(signals.b2Floor.latencyMs.p50)} ms, p99 ${num(signals.b2Floor.latencyMs.p99)} ms`,
      ratio: '-',
      verdict: verdict(latency.p50 <= 15 && latency.p99 <= 60),
    });
  } else rows.push(missing('B2', 'signal → order at the fake Alpaca, 500/s', 'p50 ≤ 15 ms, p99 ≤ 60 ms'));

  if (b3) {
    rows.push({
      id: 'B3',
      workload: 'portfolio.getOverview uncached, 1M trades',
      result: `p95 ${num(b3.uncached.p95Ms)} ms`,
      budget: 'p95 ≤ 50 ms',
      floor: `its SQL p95 ${num(b3.floor.sql.p95Ms)} ms`,
      ratio: '-',
      verdict: verdict(b3.uncached.p95Ms <= 50),
    });
    rows.push({
      id: 'B3',
      workload: 'portfolio.getOverview cached',
      result: `${num(b3.cached.perS)}/s, p99 ${b3.cached.p99Ms} ms`,
      budget: '≥ 5,000/s, p99 ≤ 10 ms',
      floor: `/health/live ${num(b3.floor.healthLive.perS)}/s`,
      ratio: ratioOf(b3.cached.perS, b3.floor.healthLive.perS),
      verdict: verdict(b3.cached.perS >= 5_000 && b3.cached.p99Ms <= 10),
    });
  } else rows.push(missing('B3', 'portfolio.getOverview, 1M trades', 'uncached p95 ≤ 50 ms; cached ≥ 5,000/s'));

  if (signals) {
    rows.push({
      id: 'B4',
      workload: 'worker end to end (webhook → trade)',
      result: `${num(signals.b4.endToEndPerS)} signals/s`,
      budget: '≥ 1,500/s',
      floor: `${num(signals.b4Floor.perS)}/s`,
      ratio: ratioOf(signals.b4.endToEndPerS, signals.b4Floor.perS),
      verdict: verdict(signals.b4.endToEndPerS >= 1_500),
    });
  } else rows.push(missing('B4', 'worker end to end (webhook → trade)', '≥ 1,500/s'));

  if (b1 || signals) {
    const apiAfterB1 = b1?.apiRssMb;
    const after = signals?.memoryMb?.afterB4;
    const apiMax = Math.max(apiAfterB1 ?? 0, after?.api.rss ?? 0);
    const parts = [
      apiAfterB1 === undefined ? null : `api ${apiAfterB1} MB after B1`,
      after ? `api ${after.api.rss} MB, worker ${after.worker.rss} MB after B4` : null,
    ].filter(Boolean);
    rows.push({
      id: 'B5',
      workload: 'RSS after B1 and B4',
      result: parts.join('; '),
      budget: '≤ 250 MB each',
      floor: '-',
      ratio: '-',
      verdict: verdict(apiMax <= 250 && (after?.worker.rss ?? 0) <= 250),
    });
  } else rows.push(missing('B5', 'RSS after B1 and B4', '≤ 250 MB each'));

  if (b1?.apiReadyMs !== undefined) {
    rows.push({
      id: 'B6',
      workload: 'api start to ready',
      result: `${num(b1.apiReadyMs)} ms`,
      budget: '≤ 2,000 ms',
      floor: '-',
      ratio: '-',
      verdict: verdict(b1.apiReadyMs <= 2_000),
    });
  } else rows.push(missing('B6', 'api start to ready', '≤ 2,000 ms'));
  return rows;
}

function print(rows: Row[]): void {
  const header: Row = {
    id: 'id',
    workload: 'workload',
    result: 'result',
    budget: 'budget',
    floor: 'floor (same run)',
    ratio: 'x floor',
    verdict: 'pass' as const,
  };
  const columns = ['id', 'workload', 'result', 'budget', 'floor', 'ratio', 'verdict'] as const;
  const widths = columns.map((column) => Math.max(...[header, ...rows].map((row) => String(row[column]).length)));
  const line = (row: Row, isHeader = false) =>
    columns
      .map((column, index) =>
        (isHeader && column === 'verdict' ? 'verdict' : String(row[column])).padEnd(widths[index] ?? 0),
      )
      .join('  ');
  console.log(`\n${line(header, true)}`);
  for (const row of rows) console.log(line(row));
}

if (import.meta.main) {
  const rows = summarize();
  print(rows);
  writeFileSync(
    projectPath('bench-results.json'),
    `${JSON.stringify({ at: new Date().toISOString(), rows }, null, 2)}\n`,
  );
  console.log('\nwritten: bench-results.json');
}
