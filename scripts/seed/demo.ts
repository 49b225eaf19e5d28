/**
 * The demo data `npm run dev` seeds on every start (SPEC §11), safe to run again and again: a demo trader, an Alpaca
 * paper connection to the local fake (scripts/fake-brokers.ts, port 4010), a strategy with its webhook URL, the
 * routing rule between them, a few months of closed trades so the portfolio has numbers, and the benchmark's daily
 * closes over those days. Accounts and configuration go through the services (argon2 hash, sealed credentials,
 * encrypted webhook token, audit rows, exactly as the API would write them); the history is bulk-inserted once.
 * Each step finds what an earlier run made (by email or name) and only creates what is missing.
 */
import type { RowDataPacket } from 'mysql2/promise';
import type { DatabaseHandle } from '#server/db/client.ts';
import { env } from '#server/lib/env.ts';
import { logger } from '#server/lib/logger.ts';
import { register } from '#server/services/auth/register.ts';
import { connect } from '#server/services/brokers/connections/connect.ts';
import type { ServiceContext } from '#server/services/context.ts';
import { createRoutingRule } from '#server/services/routing/create.ts';
import { createStrategy } from '#server/services/strategies/create.ts';
import { getWebhookUrl } from '#server/services/strategies/get-webhook-url.ts';
import { rotateWebhookToken } from '#server/services/strategies/rotate-webhook-token.ts';
import { registerInput } from '#shared/schemas/auth.ts';
import { connectInput } from '#shared/schemas/brokers.ts';
import { createRoutingRuleInput } from '#shared/schemas/routing.ts';
import { createStrategyInput } from '#shared/schemas/strategies.ts';
import { insertMissingBenchmarks } from '../benchmarks/store.ts';
import { createBatchWriter, TRADE_COLUMNS, tradeTuple } from './insert.ts';
import { benchmarkSeries, tradingDays } from './market.ts';
import { strategyHistory } from './trades.ts';

export const DEMO_EMAIL = 'demo@fillpath.example';
export const DEMO_PASSWORD = 'demo-password';
const DEMO_NAME = 'Demo Trader';
const CONNECTION_NAME = 'Fake Alpaca (paper)';
const STRATEGY_NAME = 'Demo strategy';
// The fake Alpaca's built-in account (tests/fakes/README.md).
const FAKE_ALPACA = { keyId: 'PKFAKEKEY0000000001', secretKey: 'fake-secret' };
export const FAKE_ALPACA_URL = 'http://127.0.0.1:4010';
const HISTORY_TRADES = 80;
const HISTORY_DAYS = 120;

export interface DemoResult {
  userId: number;
  email: string;
  password: string;
  webhookUrl: string;
  strategyId: number;
  connectionId: number;
  /** Trades written by this run (0 when the history was already there). */
  tradesAdded: number;
  closesAdded: number;
  created: string[];
}

async function idOf(database: DatabaseHandle, query: string, params: unknown[]): Promise<number | null> {
  const [rows] = await database.pool.query<RowDataPacket[]>(query, params);
  return rows[0] ? Number(rows[0].id) : null;
}

export async function seedDemo(
  database: DatabaseHandle,
  options: { seed: number; endDay: number },
): Promise<DemoResult> {
  const created: string[] = [];
  const base: ServiceContext = {
    db: database.db,
    log: logger,
    requestId: `seed-demo-${Date.now()}`,
    actor: { type: 'anonymous' },
  };

  let userId = await idOf(database, 'SELECT id FROM users WHERE email = ? AND deleted_at IS NULL', [DEMO_EMAIL]);
  if (userId === null) {
    const registered = await register(
      base,
      registerInput.parse({ email: DEMO_EMAIL, password: DEMO_PASSWORD, name: DEMO_NAME }),
    );
    userId = registered.user.id;
    created.push('the demo trader');
  }
  const ctx: ServiceContext = { ...base, actor: { type: 'user', userId, role: 'user' } };

  let connectionId = await idOf(
    database,
    'SELECT id FROM broker_connections WHERE user_id = ? AND name = ? AND deleted_at IS NULL',
    [userId, CONNECTION_NAME],
  );
  if (connectionId === null) {
    const connection = await connect(
      ctx,
      connectInput.parse({ broker: 'alpaca', name: CONNECTION_NAME, environment: 'paper', credentials: FAKE_ALPACA }),
    );
    connectionId = connection.id;
    created.push('the fake Alpaca connection');
  }

  let strategyId = await idOf(
    database,
    'SELECT id FROM strategies WHERE user_id = ? AND name = ? AND deleted_at IS NULL',
    [userId, STRATEGY_NAME],
  );
  let webhookUrl: string;
  if (strategyId === null) {
    const strategy = await createStrategy(
      ctx,
      createStrategyInput.parse({
        name: STRATEGY_NAME,
        description: 'Seeded by npm run dev: alerts to its webhook URL trade on the fake Alpaca.',
      }),
    );
    strategyId = strategy.strategy.id;
    webhookUrl = strategy.webhookUrl;
    created.push('the demo strategy');
  } else {
    try {
      webhookUrl = (await getWebhookUrl(ctx, strategyId)).webhookUrl;
    } catch (error) {
      // A token sealed under keys no longer in ENCRYPTION_KEYS cannot be shown again: issue a new one.
      logger.warn({ err: error }, 'seed: the demo webhook URL could not be decrypted; rotating the token');
      webhookUrl = (await rotateWebhookToken(ctx, strategyId)).webhookUrl;
    }
  }

  const ruleId = await idOf(
    database,
    'SELECT id FROM routing_rules WHERE strategy_id = ? AND broker_connection_id = ? AND deleted_at IS NULL',
    [strategyId, connectionId],
  );
  if (ruleId === null) {
    await createRoutingRule(ctx, createRoutingRuleInput.parse({ strategyId, brokerConnectionId: connectionId }));
    created.push('the routing rule');
  }

  const days = tradingDays(options.endDay - HISTORY_DAYS, options.endDay);
  let tradesAdded = 0;
  const hasHistory = await idOf(database, 'SELECT id FROM trades WHERE strategy_id = ? LIMIT 1', [strategyId]);
  if (hasHistory === null) {
    // All closed: an open trade would need an open position, and the fake broker would not hold it.
    const rows = strategyHistory({
      seed: options.seed,
      label: 'demo',
      userId,
      strategyId,
      connectionId,
      count: HISTORY_TRADES,
      days,
      lastOpen: false,
    });
    const writer = createBatchWriter(database.pool, 'trades', TRADE_COLUMNS, 1_000, 1);
    for (const row of rows) await writer.add(tradeTuple(row));
    await writer.finish();
    tradesAdded = rows.length;
    created.push(`${rows.length} closed trades`);
  }
  const closesAdded = await insertMissingBenchmarks(
    database.pool,
    benchmarkSeries(options.seed, days[0] ?? options.endDay, options.endDay),
  );
  return {
    userId,
    email: DEMO_EMAIL,
    password: DEMO_PASSWORD,
    webhookUrl,
    strategyId,
    connectionId,
    tradesAdded,
    closesAdded,
    created,
  };
}

/** What `npm run dev` prints once the api is ready (.tmp/demo.txt): the login, the webhook URL, curls to trade. */
export function demoText(result: DemoResult): string {
  const alert = (body: string) =>
    `curl -sS -X POST '${result.webhookUrl}' -H 'content-type: application/json' -d '${body}'`;
  const api = `${env.PUBLIC_BASE_URL}/api/v1/trpc`;
  const lines = [
    'Demo account',
    `  login:        ${result.email} / ${result.password}`,
    `  sign in:      curl -sS -X POST '${api}/auth.login' -H 'content-type: application/json' -d '{"json":{"email":"${result.email}","password":"${result.password}"}}'`,
    `  webhook URL:  ${result.webhookUrl}`,
    '',
    'Place a demo trade (buys 1 AAPL on the fake Alpaca), then close it:',
    `  ${alert('{"ticker":"AAPL","action":"buy","quantity":"1"}')}`,
    `  ${alert('{"ticker":"AAPL","action":"exit"}')}`,
  ];
  if (env.ALPACA_PAPER_URL !== FAKE_ALPACA_URL) {
    lines.push(
      '',
      `Note: ALPACA_PAPER_URL is ${env.ALPACA_PAPER_URL}, so orders go there, not to the fake;`,
      `      put ALPACA_PAPER_URL=${FAKE_ALPACA_URL} in .env to trade on the fake Alpaca.`,
    );
  }
  return `${lines.join('\n')}\n`;
}
