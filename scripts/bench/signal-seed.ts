/**
 * The traders of scripts/bench/signal-to-order.ts, written straight to the database as scripts/bench/webhooks.ts
 * does (through the API, its per-user write and broker budgets would take many minutes for hundreds of
 * connections): users and, per route, a strategy with a webhook token and limits above any rate, an Alpaca paper
 * connection to a fake account of its own (credentials sealed by the api's own code with the keys the children
 * get), and the routing rule between them — what auth.register, brokers.connect, strategies.create and
 * routing.create write.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { FAKE_ALPACA_SECRET, fakeAlpacaKeyId, type RequestFor } from './lib.ts';

export interface BenchRoute {
  token: string;
  strategyId: number;
  connectionId: number;
}

/** server/services/brokers/connections/credentials.ts#sealCredentials, imported once the env is set. */
export type Seal = (connectionId: number, credentials: { keyId: string; secretKey: string }) => string;

/**
 * One route per entry of `accounts` (the fake account index its connection trades on), named `<group> <i>`; every
 * `perUser` routes belong to one more user.
 */
export async function seedRoutes(
  sql: Connection,
  seal: Seal,
  group: string,
  accounts: number[],
  perUser: number,
): Promise<BenchRoute[]> {
  const names = accounts.map((_, i) => `${group} ${i}`);
  const tokens = accounts.map(() => randomBytes(32).toString('base64url'));
  const emails = Array.from(
    { length: Math.ceil(accounts.length / perUser) },
    (_, u) => `bench-${group}-${u}@example.test`,
  );
  await sql.query('INSERT INTO users (email, password_hash, name) VALUES ?', [
    emails.map((email) => [email, 'not-a-real-hash', 'Bench']),
  ]);
  const [users] = await sql.query<RowDataPacket[]>('SELECT id, email FROM users WHERE email IN (?)', [emails]);
  const userIdOf = new Map(users.map((row) => [String(row.email), Number(row.id)]));
  const owners = names.map((_, i) => userIdOf.get(emails[Math.floor(i / perUser)] ?? '') ?? 0);
  await sql.query(
    `INSERT INTO strategies (user_id, name, webhook_token_hash, webhook_token_enc, max_signal_age_s, rate_per_minute,
       rate_per_hour) VALUES ?`,
    [
      names.map((name, i) => [
        owners[i],
        name,
        createHash('sha256')
          .update(tokens[i] ?? '')
          .digest('hex'),
        'bench-not-decrypted',
        null,
        100_000_000,
        100_000_000,
      ]),
    ],
  );
  await sql.query(
    `INSERT INTO broker_connections (user_id, broker, name, environment, credentials_enc, status) VALUES ?`,
    [names.map((name, i) => [owners[i], 'alpaca', name, 'paper', '', 'connected'])],
  );
  const strategyIds = await idsByName(sql, 'strategies', names);
  const connectionIds = await idsByName(sql, 'broker_connections', names);
  for (const [i, connectionId] of connectionIds.entries()) {
    const sealed = seal(connectionId, { keyId: fakeAlpacaKeyId(accounts[i] ?? 0), secretKey: FAKE_ALPACA_SECRET });
    await sql.execute('UPDATE broker_connections SET credentials_enc = ? WHERE id = ?', [sealed, connectionId]);
  }
  await sql.query('INSERT INTO routing_rules (user_id, strategy_id, broker_connection_id) VALUES ?', [
    strategyIds.map((strategyId, i) => [owners[i], strategyId, connectionIds[i]]),
  ]);
  return names.map((_, i) => ({
    token: tokens[i] ?? '',
    strategyId: strategyIds[i] ?? 0,
    connectionId: connectionIds[i] ?? 0,
  }));
}

async function idsByName(sql: Connection, table: string, names: string[]): Promise<number[]> {
  const [rows] = await sql.query<RowDataPacket[]>(`SELECT id, name FROM ${table} WHERE name IN (?)`, [names]);
  const byName = new Map(rows.map((row) => [String(row.name), Number(row.id)]));
  return names.map((name) => {
    const id = byName.get(name);
    if (id === undefined) throw new Error(`seed: ${table} row "${name}" missing`);
    return id;
  });
}

/**
 * Alert i goes to route i mod n and buys 1 of a ticker no other alert uses (`<tag><i in base 36>`), so every signal
 * opens a position and a trade of its own; each has a fresh idempotencyKey, so none is a duplicate.
 */
export function buyAlerts(routes: BenchRoute[], tag: string): RequestFor {
  return (index) => {
    const route = routes[index % routes.length];
    if (!route) throw new Error('no routes');
    return {
      path: `/api/v1/webhooks/tradingview/${route.token}`,
      body: JSON.stringify({
        ticker: `${tag}${index.toString(36).toUpperCase()}`,
        action: 'buy',
        sentiment: 'long',
        quantity: '1',
        idempotencyKey: randomUUID(),
      }),
    };
  };
}
