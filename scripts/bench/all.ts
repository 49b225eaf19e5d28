/**
 * `npm run bench`: every benchmark, one after the other (they share the machine's MariaDB and Redis, so never at
 * once): B1 (webhooks.ts), then B2/B4/B5 (signal-to-order.ts), then B3 (portfolio.ts). Each runs to the end
 * whatever the others' results; exits 1 when any of them did (a failed integrity check or a missed budget, see each
 * script), after printing the one table of B1–B6 (summary.ts, also written as bench-results.json).
 */
import { spawn } from 'node:child_process';
import { projectPath } from '../../server/lib/paths.ts';

const BENCHMARKS = ['scripts/bench/webhooks.ts', 'scripts/bench/signal-to-order.ts', 'scripts/bench/portfolio.ts'];

const startedAt = new Date().toISOString();
const failed: string[] = [];
for (const script of BENCHMARKS) {
  const child = spawn(process.execPath, [projectPath(script)], { stdio: 'inherit' });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) failed.push(`${script} (exit ${code})`);
}
// One table of B1–B6 from what each benchmark wrote, also as bench-results.json.
const summary = spawn(process.execPath, [projectPath('scripts/bench/summary.ts'), '--since', startedAt], {
  stdio: 'inherit',
});
await new Promise((resolve) => summary.once('exit', resolve));
console.log(failed.length === 0 ? '\nbench: all passed' : `\nbench: failed: ${failed.join(', ')}`);
process.exitCode = failed.length === 0 ? 0 : 1;
