/**
 * scripts/seed.ts as `npm run dev` and the B3 benchmark run it (a child process on this worker's test database):
 * the demo data is usable and safe to seed again; the scale data set is refused on a database with other people's
 * users, is the same for the same --seed, is reused when complete, and its books add up the way fill processing
 * would have written them. The scale runs here are small (--users/--trades): the full size is a benchmark matter.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../server/lib/crypto.ts';
import { verifyPassword } from '../../server/lib/passwords.ts';
import { useTestDatabase } from '../helpers/db.ts';

const { pool } = useTestDatabase();
const dir = mkdtempSync(join(tmpdir(), 'seed-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const demoFile = join(dir, 'demo.txt');
const SMALL = ['--scale', '--users', '3', '--strategies-per-user', '2', '--trades', '300', '--end', '2025-06-30'];

async function seed(...args: string[]) {
  return promisify(execFile)(process.execPath, ['scripts/seed.ts', ...args], { env: process.env }).then(
    (result) => ({ code: 0, ...result }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

async function rows<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  const [result] = await pool.query(query, params);
  return result as T[];
}

async function count(query: string, params: unknown[] = []): Promise<number> {
  const [row] = await rows<{ n: number | string }>(query, params);
  return Number(row?.n);
}

/** The scale traders' trades by owner and strategy name, without ids (which differ between builds). */
async function scaleTrades(): Promise<string[]> {
  const found = await rows<Record<string, unknown>>(
    `SELECT u.email, s.name, t.symbol, t.side, t.quantity, t.entry_price, t.exit_price, t.entry_date, t.exit_date,
            t.pnl, t.pnl_percent, t.fees, t.status
       FROM trades t JOIN users u ON u.id = t.user_id JOIN strategies s ON s.id = t.strategy_id
      WHERE u.email LIKE 'scale-trader-%' ORDER BY u.email, s.name, t.entry_date`,
  );
  return found.map((row) => JSON.stringify(Object.values(row)));
}

// Each run is a Node process loading the service stack (and the demo hashes a password): seconds on a busy machine.
describe('node scripts/seed.ts', { timeout: 120_000 }, () => {
  it('seeds a demo trader whose webhook URL, routing and history are ready, and seeding again changes nothing', async () => {
    const first = await seed('--out', demoFile);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toContain('created the demo trader, the fake Alpaca connection, the demo strategy');
    const text = readFileSync(demoFile, 'utf8');
    expect(text).toContain('login:        demo@fillpath.example / demo-password');
    const token = /\/api\/v1\/webhooks\/tradingview\/([A-Za-z0-9_-]{43})\b/.exec(text)?.[1] ?? '';
    expect(text).toContain(`curl -sS -X POST '`);

    const [user] = await rows<{ id: number; password_hash: string }>(
      `SELECT id, password_hash FROM users WHERE email = 'demo@fillpath.example'`,
    );
    expect(await verifyPassword(user?.password_hash ?? null, 'demo-password')).toBe(true);
    // The URL's token is the strategy's, and the strategy routes to the fake Alpaca connection.
    const routed = await rows(
      `SELECT c.broker, c.environment FROM strategies s
         JOIN routing_rules r ON r.strategy_id = s.id AND r.is_active = 1
         JOIN broker_connections c ON c.id = r.broker_connection_id
        WHERE s.webhook_token_hash = ? AND s.user_id = ? AND s.is_active = 1`,
      [sha256Hex(token), user?.id],
    );
    expect(routed).toEqual([{ broker: 'alpaca', environment: 'paper' }]);
    expect(await count(`SELECT COUNT(*) AS n FROM trades WHERE status = 'closed' AND user_id = ?`, [user?.id])).toBe(
      80,
    );
    // Every trade day has a benchmark close to compare with.
    expect(
      await count(
        `SELECT COUNT(DISTINCT date(t.exit_date)) AS n FROM trades t
           LEFT JOIN benchmarks b ON b.symbol = 'SPY' AND b.date = date(t.exit_date) WHERE b.id IS NULL`,
      ),
    ).toBe(0);

    const again = await seed('--out', demoFile);
    expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining('demo data already there') });
    expect(readFileSync(demoFile, 'utf8')).toContain(token);
    const totals = await rows(
      `SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM strategies) AS strategies,
              (SELECT COUNT(*) FROM broker_connections) AS connections, (SELECT COUNT(*) FROM routing_rules) AS rules,
              (SELECT COUNT(*) FROM trades) AS trades`,
    );
    expect(totals.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)])))).toEqual([
      { users: 1, strategies: 1, connections: 1, rules: 1, trades: 80 },
    ]);
  });

  it('refuses --scale on a database with users it did not seed, unless --force', async () => {
    await pool.query(`INSERT INTO users (email, password_hash, name) VALUES ('someone@example.com', 'x', 'Someone')`);
    const refused = await seed(...SMALL);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('this database has 1 user(s) the seed did not create');
    expect(await count(`SELECT COUNT(*) AS n FROM users WHERE email LIKE 'scale-trader-%'`)).toBe(0);

    const forced = await seed(...SMALL, '--seed', '7', '--force');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('3 users, 6 strategies, 300 trades (6 open, with positions)');
    await pool.query(`DELETE FROM users WHERE email = 'someone@example.com'`);
  });

  it('builds the same set for the same --seed, reuses a complete one, and its books add up', async () => {
    // The set of the test above, built with --seed 7.
    const first = await scaleTrades();
    expect(first).toHaveLength(300);

    const reused = await seed(...SMALL, '--seed', '7');
    expect(reused.stdout).toContain('is complete (300 trades, seed 7): nothing to do');
    expect(await seed(...SMALL, '--seed', '8')).toMatchObject({ code: 0 });
    expect(await scaleTrades()).not.toEqual(first);
    expect(await seed(...SMALL, '--seed', '7')).toMatchObject({ code: 0 });
    expect(await scaleTrades()).toEqual(first);

    const users = await rows<{ password_hash: string }>(
      `SELECT password_hash FROM users WHERE email LIKE 'scale-trader-%'`,
    );
    expect(await verifyPassword(users[0]?.password_hash ?? null, 'scale-trader-password')).toBe(true);
    // Closed trades: P&L is the price move times quantity, signed by side, net of fees; pnl% is over the entry notional.
    const wrong = await rows(
      `SELECT id FROM trades WHERE status = 'closed' AND (
         pnl <> (exit_price - entry_price) * quantity * IF(side = 'long', 1, -1) - fees
         OR abs(pnl_percent - pnl * 100 / (entry_price * quantity)) > 0.000000005
         OR exit_date <= entry_date)`,
    );
    expect(wrong).toEqual([]);
    // One open trade per strategy, each with its position and its filled opening order and fill at the entry price.
    const open = await rows(
      `SELECT t.id FROM trades t
         JOIN open_positions p ON p.strategy_id = t.strategy_id AND p.broker_connection_id = t.broker_connection_id
           AND p.symbol = t.symbol AND p.side = t.side AND p.quantity = t.quantity AND p.avg_entry_price = t.entry_price
         JOIN broker_orders o ON o.trade_id = t.id AND o.status = 'filled' AND o.client_order_id = CONCAT('fp-', o.id)
         JOIN fills f ON f.broker_order_id = o.id AND f.price = t.entry_price AND f.quantity = t.quantity
        WHERE t.status = 'open'`,
    );
    expect(open).toHaveLength(6);
    expect(await count(`SELECT COUNT(*) AS n FROM trades WHERE status = 'open'`)).toBe(6);
  });
});
