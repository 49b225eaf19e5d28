/**
 * The B3 data set of SPEC §12 (`node scripts/seed.ts --scale`): by default 100 traders with 10 strategies each,
 * one Alpaca paper connection per trader routed from each of its strategies, and 1,000,000 trades over about two
 * years, the last trade of every strategy still open (with its position, and the filled opening order and fill the
 * portfolio values it from), plus the benchmark's daily closes.
 *
 * Users, connections, strategies and rules are real rows (one shared argon2 hash of SCALE_PASSWORD, credentials and
 * webhook tokens sealed with the configured keys), so the API serves them like any other; trades go in as
 * multi-row INSERTs, a few statements in flight. The set is recognisable by its emails (`scale-trader-NNN@` the
 * seed domain), and a `seed.scale` audit row written last records its parameters: a later run with the same
 * parameters finds it complete and does nothing, an interrupted or different one is removed and rebuilt.
 */
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { DatabaseHandle } from '#server/db/client.ts';
import { aadFor, encryptSecret, randomToken, sha256Hex } from '#server/lib/crypto.ts';
import { hashPassword } from '#server/lib/passwords.ts';
import { sealCredentials } from '#server/services/brokers/connections/credentials.ts';
import { insertMissingBenchmarks } from '../benchmarks/store.ts';
import { createBatchWriter, datetimeText, TRADE_COLUMNS, tradeTuple } from './insert.ts';
import { benchmarkSeries, dayStartMs, isoDate, tradingDays } from './market.ts';
import { createProgress } from './progress.ts';
import { strategyHistory } from './trades.ts';

/** Every seeded account's email ends with this domain (reserved: no real address can). */
export const SEED_EMAIL_DOMAIN = 'fillpath.example';
export const SCALE_PASSWORD = 'scale-trader-password';
/** Bumped whenever the generator changes what it writes, so an older set is rebuilt instead of reused. */
const FORMAT = 1;
const WINDOW_DAYS = 730;
const FAKE_ALPACA = { keyId: 'PKFAKEKEY0000000001', secretKey: 'fake-secret' };

export interface ScaleOptions {
  seed: number;
  users: number;
  strategiesPerUser: number;
  trades: number;
  /** Last day of the history (day number, see market.ts). */
  endDay: number;
  rowsPerStatement: number;
  inFlight: number;
  force: boolean;
}

export const SCALE_DEFAULTS = { users: 100, strategiesPerUser: 10, trades: 1_000_000 } as const;

export function scaleEmail(index: number): string {
  return `scale-trader-${String(index + 1).padStart(3, '0')}@${SEED_EMAIL_DOMAIN}`;
}

export interface ScaleResult {
  reused: boolean;
  users: number;
  strategies: number;
  trades: number;
  openPositions: number;
  closesAdded: number;
  tradeSeconds: number;
  totalSeconds: number;
}

export class ScaleRefused extends Error {}

/** The parameters that decide the rows; equal parameters mean an identical data set. */
function parametersOf(options: ScaleOptions) {
  return {
    format: FORMAT,
    seed: options.seed,
    users: options.users,
    strategiesPerUser: options.strategiesPerUser,
    trades: options.trades,
    end: isoDate(options.endDay),
  };
}

async function scalar(pool: Pool, query: string, params: unknown[] = []): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>(query, params);
  return Number(rows[0]?.n ?? 0);
}

async function scaleUserIds(pool: Pool): Promise<number[]> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT id FROM users WHERE email LIKE ? ORDER BY id', [
    `scale-trader-%@${SEED_EMAIL_DOMAIN}`,
  ]);
  return rows.map((row) => Number(row.id));
}

/** Whether the set recorded by the last `seed.scale` row matches these parameters and is still all there. */
async function isComplete(pool: Pool, options: ScaleOptions, userIds: number[]): Promise<boolean> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT new_value AS params FROM audit_logs WHERE resource_type = 'seed' AND resource_id = 'scale'
      ORDER BY id DESC LIMIT 1`,
  );
  const stored = rows[0]?.params;
  const recorded = typeof stored === 'string' ? JSON.parse(stored) : stored;
  if (JSON.stringify(recorded) !== JSON.stringify(parametersOf(options))) return false;
  if (userIds.length !== options.users) return false;
  const trades = await scalar(pool, 'SELECT COUNT(*) AS n FROM trades WHERE user_id IN (?)', [userIds]);
  return trades === options.trades;
}

/** Removes an earlier (partial or different) scale set, children first; trades in chunks to keep undo small. */
async function removeScaleSet(pool: Pool, userIds: number[], log: (line: string) => void): Promise<void> {
  if (userIds.length === 0) return;
  log(`seed: removing the earlier scale data set (${userIds.length} users)`);
  await pool.query(
    'DELETE fills FROM fills JOIN broker_orders ON broker_orders.id = fills.broker_order_id WHERE broker_orders.user_id IN (?)',
    [userIds],
  );
  await pool.query('DELETE FROM broker_orders WHERE user_id IN (?)', [userIds]);
  for (;;) {
    const [result] = await pool.query<ResultSetHeader>('DELETE FROM trades WHERE user_id IN (?) LIMIT 50000', [
      userIds,
    ]);
    if (result.affectedRows === 0) break;
  }
  const strategies = 'SELECT id FROM strategies WHERE user_id IN (?)';
  await pool.query(`DELETE FROM open_positions WHERE strategy_id IN (${strategies})`, [userIds]);
  for (const table of ['routing_rules', 'strategies', 'broker_connections', 'sessions', 'users']) {
    const column = table === 'users' ? 'id' : 'user_id';
    await pool.query(`DELETE FROM ${table} WHERE ${column} IN (?)`, [userIds]);
  }
  await pool.query(`DELETE FROM audit_logs WHERE resource_type = 'seed' AND resource_id = 'scale'`);
}

async function insertAccounts(pool: Pool, options: ScaleOptions, createdMs: number) {
  const created = datetimeText(createdMs);
  const passwordHash = await hashPassword(SCALE_PASSWORD);
  const emails = Array.from({ length: options.users }, (_, u) => scaleEmail(u));
  await pool.query('INSERT INTO users (email, password_hash, name, created_at, updated_at) VALUES ?', [
    emails.map((email, u) => [email, passwordHash, `Scale Trader ${u + 1}`, created, created]),
  ]);
  const userIds = await scaleUserIds(pool);

  await pool.query(
    'INSERT INTO broker_connections (user_id, broker, name, environment, credentials_enc, status, created_at, updated_at) VALUES ?',
    [userIds.map((userId) => [userId, 'alpaca', 'Alpaca paper', 'paper', 'sealing', 'unknown', created, created])],
  );
  const [connections] = await pool.query<RowDataPacket[]>(
    'SELECT id, user_id FROM broker_connections WHERE user_id IN (?) ORDER BY user_id',
    [userIds],
  );
  const connectionOf = new Map(connections.map((row) => [Number(row.user_id), Number(row.id)]));
  await updateByCase(
    pool,
    'broker_connections',
    'credentials_enc',
    connections.map((row) => [Number(row.id), sealCredentials(Number(row.id), FAKE_ALPACA)]),
  );

  // Webhook tokens are secrets: random, never derived from the seed; nobody needs them, so they are not kept.
  const tokens = new Map<string, string>();
  const strategyRows = userIds.flatMap((userId) =>
    Array.from({ length: options.strategiesPerUser }, (_, s) => {
      const name = `Scale strategy ${String(s + 1).padStart(2, '0')}`;
      const token = randomToken(32);
      tokens.set(`${userId}|${name}`, token);
      return [userId, name, sha256Hex(token), '', null, created, created];
    }),
  );
  await pool.query(
    'INSERT INTO strategies (user_id, name, webhook_token_hash, webhook_token_enc, description, created_at, updated_at) VALUES ?',
    [strategyRows],
  );
  const [strategies] = await pool.query<RowDataPacket[]>(
    'SELECT id, user_id, name FROM strategies WHERE user_id IN (?) ORDER BY user_id, name',
    [userIds],
  );
  await updateByCase(
    pool,
    'strategies',
    'webhook_token_enc',
    strategies.map((row) => [
      Number(row.id),
      encryptSecret(tokens.get(`${row.user_id}|${row.name}`) ?? '', aadFor('strategies', Number(row.id))),
    ]),
  );
  await pool.query(
    'INSERT INTO routing_rules (user_id, strategy_id, broker_connection_id, created_at, updated_at) VALUES ?',
    [strategies.map((row) => [row.user_id, row.id, connectionOf.get(Number(row.user_id)), created, created])],
  );
  return strategies.map((row) => ({
    userId: Number(row.user_id),
    strategyId: Number(row.id),
    connectionId: connectionOf.get(Number(row.user_id)) ?? 0,
  }));
}

/** `UPDATE table SET column = CASE id WHEN … END WHERE id IN (…)`, 500 rows a statement. */
async function updateByCase(pool: Pool, table: string, column: string, values: Array<[number, string]>) {
  for (let i = 0; i < values.length; i += 500) {
    const part = values.slice(i, i + 500);
    const cases = part.map(() => 'WHEN ? THEN ?').join(' ');
    await pool.query(`UPDATE ${table} SET ${column} = CASE id ${cases} END WHERE id IN (?)`, [
      ...part.flat(),
      part.map(([id]) => id),
    ]);
  }
}

function userIds(routes: Array<{ userId: number }>): number[] {
  return [...new Set(routes.map((route) => route.userId))];
}

/**
 * What fill processing leaves behind for each open trade: its position, and the filled opening order with its fill
 * (the portfolio values a position at its last fill until a broker mark is newer).
 */
async function insertOpenBooks(pool: Pool, users: number[]): Promise<void> {
  const [open] = await pool.query<RowDataPacket[]>(
    `SELECT id, user_id, strategy_id, broker_connection_id, symbol, side, quantity, entry_price, entry_date
       FROM trades WHERE user_id IN (?) AND status = 'open' ORDER BY id`,
    [users],
  );
  if (open.length === 0) return;
  await pool.query(
    `INSERT INTO open_positions (strategy_id, broker_connection_id, symbol, side, quantity, avg_entry_price, opened_at,
       created_at, updated_at) VALUES ?`,
    [
      open.map((t) => [
        t.strategy_id,
        t.broker_connection_id,
        t.symbol,
        t.side,
        t.quantity,
        t.entry_price,
        t.entry_date,
        t.entry_date,
        t.entry_date,
      ]),
    ],
  );
  await pool.query(
    `INSERT INTO broker_orders (user_id, strategy_id, broker_connection_id, trade_id, broker_order_id, symbol,
       broker_symbol, side, intent, order_type, tif, quantity, status, filled_qty, avg_fill_price, attempts,
       submitted_at, filled_at, created_at, updated_at) VALUES ?`,
    [
      open.map((t) => [
        t.user_id,
        t.strategy_id,
        t.broker_connection_id,
        t.id,
        `seed-${t.id}`,
        t.symbol,
        t.symbol,
        t.side === 'long' ? 'buy' : 'sell',
        'open',
        'market',
        'day',
        t.quantity,
        'filled',
        t.quantity,
        t.entry_price,
        1,
        t.entry_date,
        t.entry_date,
        t.entry_date,
        t.entry_date,
      ]),
    ],
  );
  // Client order ids are `fp-<order id>`, as the engine writes them.
  await pool.query(
    `UPDATE broker_orders SET client_order_id = CONCAT('fp-', id) WHERE user_id IN (?) AND client_order_id IS NULL`,
    [users],
  );
  await pool.query(
    `INSERT INTO fills (broker_order_id, broker_fill_id, quantity, price, filled_at, created_at, updated_at)
     SELECT id, CONCAT('seed-', id), quantity, avg_fill_price, filled_at, filled_at, filled_at
       FROM broker_orders WHERE user_id IN (?) AND intent = 'open' AND broker_order_id LIKE 'seed-%'`,
    [users],
  );
}

/** How many trades strategy `index` gets so the total is exact. */
function tradesFor(index: number, strategies: number, total: number): number {
  return Math.floor(total / strategies) + (index < total % strategies ? 1 : 0);
}

export async function seedScale(
  database: DatabaseHandle,
  options: ScaleOptions,
  log: (line: string) => void,
): Promise<ScaleResult> {
  const started = performance.now();
  const { pool } = database;
  const others = await scalar(pool, 'SELECT COUNT(*) AS n FROM users WHERE email NOT LIKE ?', [
    `%@${SEED_EMAIL_DOMAIN}`,
  ]);
  if (others > 0 && !options.force) {
    throw new ScaleRefused(
      `this database has ${others} user(s) the seed did not create: --scale adds ${options.trades.toLocaleString('en-US')} trades ` +
        'and is meant for a scratch or benchmark database. Point DATABASE_URL at one, or pass --force to add them here.',
    );
  }
  const existing = await scaleUserIds(pool);
  const strategyCount = options.users * options.strategiesPerUser;
  if (existing.length > 0 && (await isComplete(pool, options, existing))) {
    return {
      reused: true,
      users: options.users,
      strategies: strategyCount,
      trades: options.trades,
      openPositions: strategyCount,
      closesAdded: 0,
      tradeSeconds: 0,
      totalSeconds: (performance.now() - started) / 1000,
    };
  }
  await removeScaleSet(pool, existing, log);

  const firstDay = options.endDay - WINDOW_DAYS + 1;
  const days = tradingDays(firstDay, options.endDay);
  const routes = await insertAccounts(pool, options, dayStartMs(firstDay - 1));
  log(
    `seed: ${options.users} users, ${routes.length} strategies, ${options.users} connections and ${routes.length} routing rules written`,
  );

  const progress = createProgress('trades', options.trades);
  const writer = createBatchWriter(pool, 'trades', TRADE_COLUMNS, options.rowsPerStatement, options.inFlight, (n) =>
    progress.advance(n),
  );
  // One trader at a time, their strategies' trades merged by entry time: ids grow with time within a trader, as
  // they do in production, and the (user_id, status, exit_date) index is filled in near order.
  for (let u = 0; u < options.users; u++) {
    const own = routes.slice(u * options.strategiesPerUser, (u + 1) * options.strategiesPerUser);
    const rows = own.flatMap((route, s) =>
      strategyHistory({
        seed: options.seed,
        label: `scale:${u}:${s}`,
        ...route,
        count: tradesFor(u * options.strategiesPerUser + s, strategyCount, options.trades),
        days,
        lastOpen: true,
      }),
    );
    rows.sort((a, b) => a.entryMs - b.entryMs);
    for (const row of rows) await writer.add(tradeTuple(row));
  }
  await writer.finish();
  const tradeSeconds = progress.finish();

  await insertOpenBooks(pool, userIds(routes));
  const closesAdded = await insertMissingBenchmarks(pool, benchmarkSeries(options.seed, firstDay, options.endDay));
  // Statistics sampled while the table was filling describe a far smaller one (MariaDB then joined trades through
  // the connection index, 10,000 rows per position): refresh them, as months of growth would have.
  await pool.query('ANALYZE TABLE trades, open_positions, broker_orders, fills, strategies, routing_rules');
  // Written last: its presence says the set is complete.
  await pool.query(
    `INSERT INTO audit_logs (user_id, actor_type, action, resource_type, resource_id, new_value, request_id)
     VALUES (NULL, 'system', 'seed.scale', 'seed', 'scale', ?, ?)`,
    [JSON.stringify(parametersOf(options)), `seed-scale-${Date.now()}`],
  );
  return {
    reused: false,
    users: options.users,
    strategies: routes.length,
    trades: options.trades,
    openPositions: await scalar(
      pool,
      'SELECT COUNT(*) AS n FROM open_positions WHERE strategy_id IN (SELECT id FROM strategies WHERE user_id IN (?))',
      [userIds(routes)],
    ),
    closesAdded,
    tradeSeconds,
    totalSeconds: (performance.now() - started) / 1000,
  };
}
