/**
 * `npm run benchmarks:import -- <file.csv> [--symbol SPY]`: daily closes of benchmark symbols into `benchmarks`, for
 * the portfolio comparison (SPEC §8). The file layouts are in scripts/benchmarks/csv.ts (date,close with --symbol;
 * a symbol column; or a Yahoo-style export with a header).
 *
 * All or nothing: every row is checked first and, if any is bad, each bad row is listed with its line number and
 * the reason, nothing is imported and the exit code is 1. Otherwise the rows are upserted on (symbol, date) in one
 * transaction (an existing day's close is replaced) and one line per symbol says what was new, changed or already
 * there. Exit codes: 0 imported, 1 bad rows or a database failure, 2 usage.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type BenchmarkRow, parseBenchmarksCsv } from './benchmarks/csv.ts';

const USAGE = 'usage: npm run benchmarks:import -- <file.csv> [--symbol SYMBOL]';
// Enough to fix a file; the count of the rest is printed.
const ERRORS_SHOWN = 50;

function fail(message: string, code: number): never {
  console.error(message);
  process.exit(code);
}

function readArgs() {
  try {
    return parseArgs({ options: { symbol: { type: 'string' } }, allowPositionals: true });
  } catch (error) {
    return fail(`benchmarks:import: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`, 2);
  }
}

const parsed = readArgs();
const [file, ...extra] = parsed.positionals;
if (!file || extra.length > 0) fail(USAGE, 2);

let text: string;
try {
  text = await readFile(file, 'utf8');
} catch (error) {
  fail(`benchmarks:import: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 1);
}

const { rows, errors } = parseBenchmarksCsv(text, { symbol: parsed.values.symbol });
if (errors.length > 0) {
  for (const error of errors.slice(0, ERRORS_SHOWN)) {
    console.error(error.line > 0 ? `${file}:${error.line}: ${error.reason}` : `${file}: ${error.reason}`);
  }
  if (errors.length > ERRORS_SHOWN) console.error(`… and ${errors.length - ERRORS_SHOWN} more`);
  fail(`benchmarks:import: ${errors.length} problem(s) in ${file}; nothing imported`, 1);
}

const bySymbol = new Map<string, BenchmarkRow[]>();
for (const row of rows) {
  const group = bySymbol.get(row.symbol);
  if (group) group.push(row);
  else bySymbol.set(row.symbol, [row]);
}

// Loaded only now: a usage error or a bad file is answered without loading the database stack.
const [{ createDatabase }, { mysqlErrorCode }, { env }, { upsertBenchmarks }] = await Promise.all([
  import('#server/db/client.ts'),
  import('#server/db/errors.ts'),
  import('#server/lib/env.ts'),
  import('./benchmarks/store.ts'),
]);
const database = createDatabase({ url: env.DATABASE_URL, poolSize: 1, queueLimit: 10 });
try {
  // One transaction per symbol would let a failure leave half a file imported: one for the whole file.
  const counts = await upsertBenchmarks(database.pool, rows);
  for (const [symbol, group] of bySymbol) {
    const dates = group.map((row) => row.date).sort();
    console.log(`benchmarks:import: ${symbol}: ${group.length} closes, ${dates[0]} to ${dates.at(-1)}`);
  }
  console.log(
    `benchmarks:import: ${rows.length} rows from ${file}: ${counts.inserted} new, ${counts.updated} changed, ${counts.unchanged} unchanged`,
  );
} catch (error) {
  const hint = mysqlErrorCode(error) === 'ER_NO_SUCH_TABLE' ? ' (run npm run db:migrate first)' : '';
  console.error(
    `benchmarks:import failed: ${error instanceof Error ? error.message : String(error)}${hint}; nothing imported`,
  );
  process.exitCode = 1;
} finally {
  await database.close();
}
