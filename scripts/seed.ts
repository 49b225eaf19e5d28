/**
 * `npm run db:seed` (and every `npm run dev`): the demo data of scripts/seed/demo.ts, safe to rerun; writes
 * .tmp/demo.txt (login, webhook URL, curls that trade), which `npm run dev` prints once the api is ready.
 *
 * `node scripts/seed.ts --scale`: the B3 benchmark data set of scripts/seed/scale.ts (100 users, 1,000 strategies,
 * 1,000,000 trades) into DATABASE_URL, with a progress bar on stderr. Refuses a database holding users it did not
 * seed unless --force; reuses a complete set with the same parameters.
 *
 *   node scripts/seed.ts [--seed N] [--end YYYY-MM-DD] [--out FILE]   (FILE defaults to .tmp/demo.txt)
 *   node scripts/seed.ts --scale [--force] [--seed N] [--end YYYY-MM-DD] [--users N] [--strategies-per-user N]
 *                                [--trades N] [--batch ROWS] [--in-flight N]
 *
 * The same --seed and --end give the same trades and prices (--end defaults to yesterday, UTC). Both modes migrate
 * first (creating the database if needed). Exit codes: 0 done, 1 failed, 2 bad arguments or refused.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createDatabase } from '#server/db/client.ts';
import { migrateDatabase } from '#server/db/migrate.ts';
import { watchQueryTimes } from '#server/db/query-timing.ts';
import { env } from '#server/lib/env.ts';
import { logger } from '#server/lib/logger.ts';
import { projectPath } from '#server/lib/paths.ts';
import { dateProblem } from './benchmarks/csv.ts';
import { demoText, seedDemo } from './seed/demo.ts';
import { dayOf } from './seed/market.ts';
import { SCALE_DEFAULTS, ScaleRefused, seedScale } from './seed/scale.ts';

const USAGE =
  'usage: node scripts/seed.ts [--scale [--force] [--users N] [--strategies-per-user N] [--trades N] ' +
  '[--batch ROWS] [--in-flight N]] [--seed N] [--end YYYY-MM-DD] [--out FILE]';
const count = new Intl.NumberFormat('en-US');

function usage(problem: string): never {
  console.error(`seed: ${problem}\n${USAGE}`);
  process.exit(2);
}

function readArgs() {
  try {
    return parseArgs({
      options: {
        scale: { type: 'boolean', default: false },
        force: { type: 'boolean', default: false },
        seed: { type: 'string', default: '1' },
        end: { type: 'string' },
        out: { type: 'string' },
        users: { type: 'string', default: String(SCALE_DEFAULTS.users) },
        'strategies-per-user': { type: 'string', default: String(SCALE_DEFAULTS.strategiesPerUser) },
        trades: { type: 'string', default: String(SCALE_DEFAULTS.trades) },
        batch: { type: 'string', default: '5000' },
        'in-flight': { type: 'string', default: '3' },
      },
    }).values;
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
}

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max)
    usage(`--${name} must be a whole number from ${min} to ${max}`);
  return value;
}

// Multi-row INSERTs of thousands of rows are slow by design here: only a statement stuck for a minute is worth a
// warning (the first caller sets the process's threshold, before any pool exists).
watchQueryTimes({ thresholdMs: 60_000, log: logger });

const args = readArgs();
const seed = integer('seed', args.seed, 0, 2 ** 31 - 1);
let endDay = dayOf(Date.now()) - 1;
if (args.end !== undefined) {
  const problem = dateProblem(args.end);
  if (problem) usage(`--end: ${problem}`);
  endDay = dayOf(Date.parse(`${args.end}T00:00:00Z`));
  // Price walks start on 2020-01-01 and the scale history spans two years before --end.
  if (endDay < 731) usage('--end must be 2022-01-01 or later');
}

try {
  await migrateDatabase(env.DATABASE_URL, () => undefined);
} catch (error) {
  console.error(`seed: migrations failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

if (args.scale) {
  const options = {
    seed,
    endDay,
    force: args.force,
    users: integer('users', args.users, 1, 10_000),
    strategiesPerUser: integer('strategies-per-user', args['strategies-per-user'], 1, 1_000),
    trades: integer('trades', args.trades, 0, 100_000_000),
    rowsPerStatement: integer('batch', args.batch, 1, 50_000),
    inFlight: integer('in-flight', args['in-flight'], 1, 16),
  };
  const database = createDatabase({ url: env.DATABASE_URL, poolSize: options.inFlight + 1, queueLimit: 100 });
  try {
    const result = await seedScale(database, options, (line) => console.log(line));
    const target = new URL(env.DATABASE_URL).pathname.slice(1);
    if (result.reused) {
      console.log(
        `seed: the scale data set in ${target} is complete (${count.format(result.trades)} trades, seed ${seed}): nothing to do`,
      );
    } else {
      const rate = result.tradeSeconds > 0 ? Math.round(result.trades / result.tradeSeconds) : 0;
      console.log(
        `seed: scale data set in ${target}: ${result.users} users, ${result.strategies} strategies, ` +
          `${count.format(result.trades)} trades (${result.openPositions} open, with positions), ` +
          `${result.closesAdded} benchmark closes`,
      );
      console.log(
        `seed: trades written in ${result.tradeSeconds.toFixed(1)} s (${count.format(rate)} rows/s); ` +
          `${result.totalSeconds.toFixed(1)} s in all`,
      );
    }
  } catch (error) {
    if (error instanceof ScaleRefused) {
      console.error(`seed: refused: ${error.message}`);
      process.exitCode = 2;
    } else {
      console.error(`seed: --scale failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  } finally {
    await database.close();
  }
} else {
  const database = createDatabase({ url: env.DATABASE_URL, poolSize: 2, queueLimit: 100 });
  try {
    const result = await seedDemo(database, { seed, endDay });
    const file = args.out === undefined ? projectPath('.tmp/demo.txt') : resolve(args.out);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, demoText(result));
    const made = result.created.length > 0 ? `created ${result.created.join(', ')}` : 'already there';
    const closes = result.closesAdded > 0 ? `; ${result.closesAdded} benchmark closes added` : '';
    console.log(`seed: demo data ${made}${closes}; login and webhook URL in ${relative(process.cwd(), file)}`);
  } catch (error) {
    console.error(`seed: demo data failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  } finally {
    await database.close();
  }
}
