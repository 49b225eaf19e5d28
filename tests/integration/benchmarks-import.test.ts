/**
 * `npm run benchmarks:import` as a user runs it (the script as a child process, on this worker's test database): a
 * good file lands and says what it did, a second import replaces changed closes, and a file with any bad row is
 * refused whole with every problem listed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { asc, sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { benchmarks } from '../../drizzle/schema/benchmarks.ts';
import { useTestDatabase } from '../helpers/db.ts';

const { db } = useTestDatabase();
const dir = mkdtempSync(join(tmpdir(), 'benchmarks-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runImport(name: string, text: string, ...args: string[]) {
  const file = join(dir, name);
  writeFileSync(file, text);
  const outcome = await promisify(execFile)(process.execPath, ['scripts/benchmarks-import.ts', file, ...args], {
    env: process.env,
  }).then(
    (result) => ({ code: 0, ...result }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  return { ...outcome, file };
}

async function stored() {
  const rows = await db
    .select({ symbol: benchmarks.symbol, date: benchmarks.date, close: benchmarks.close })
    .from(benchmarks)
    .orderBy(asc(benchmarks.symbol), asc(benchmarks.date));
  return rows.map((row) => `${row.symbol} ${row.date} ${row.close}`);
}

// Each run is a Node process loading the database stack: seconds on a busy machine.
describe('npm run benchmarks:import', { timeout: 60_000 }, () => {
  it('imports a file, then replaces changed closes on a second import and says what changed', async () => {
    await db.delete(benchmarks).where(sql`1 = 1`);
    const first = await runImport('spy.csv', 'date,close\n2024-01-02,472.65\n2024-01-03,468.79\n', '--symbol', 'SPY');
    expect(first.code).toBe(0);
    expect(first.stdout.trim().split('\n')).toEqual([
      'benchmarks:import: SPY: 2 closes, 2024-01-02 to 2024-01-03',
      `benchmarks:import: 2 rows from ${first.file}: 2 new, 0 changed, 0 unchanged`,
    ]);

    const second = await runImport(
      'mixed.csv',
      'symbol,date,close\nSPY,2024-01-02,472.65\nSPY,2024-01-03,468.80\nQQQ,2024-01-03,401.5\n',
    );
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`3 rows from ${second.file}: 1 new, 1 changed, 1 unchanged`);
    expect(await stored()).toEqual([
      'QQQ 2024-01-03 401.50000000',
      'SPY 2024-01-02 472.65000000',
      'SPY 2024-01-03 468.80000000',
    ]);
  });

  it('imports nothing from a file with a bad row, and lists every bad row with its line', async () => {
    await db.delete(benchmarks).where(sql`1 = 1`);
    const bad = await runImport(
      'bad.csv',
      'date,close\n2024-01-02,472.65\n2024-02-30,470\n2024-01-04,abc\n2024-01-05,471\n',
      '--symbol',
      'SPY',
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toEqual([
      `${bad.file}:3: date "2024-02-30" is not a real day`,
      `${bad.file}:4: close "abc" is not a decimal number (digits and an optional "." only)`,
      `benchmarks:import: 2 problem(s) in ${bad.file}; nothing imported`,
    ]);
    expect(await stored()).toEqual([]);
  });

  it('explains its usage and a file it cannot read', async () => {
    const usage = await promisify(execFile)(process.execPath, ['scripts/benchmarks-import.ts'], {
      env: process.env,
    }).catch((error: { code: number; stderr: string }) => error);
    expect(usage).toMatchObject({ code: 2, stderr: expect.stringContaining('usage: npm run benchmarks:import') });
    const missing = await promisify(execFile)(
      process.execPath,
      ['scripts/benchmarks-import.ts', join(dir, 'nope.csv'), '--symbol', 'SPY'],
      { env: process.env },
    ).catch((error: { code: number; stderr: string }) => error);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining('cannot read') });
  });
});
