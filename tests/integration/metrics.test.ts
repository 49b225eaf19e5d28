/**
 * /metrics as Prometheus scrapes it. The api serves it only with METRICS_TOKEN, behind that bearer token; after an
 * alert has gone all the way to the fake Alpaca, the series of SPEC §10 are there: the webhook route's duration by
 * template (never the token), webhook outcomes, procedure durations, signal-to-order latency, broker calls, breaker
 * states, queue depths, pool gauges, query durations and the cache counters. A statement slower than SLOW_QUERY_MS
 * is counted and logged without its values. The worker serves /metrics and its probes on WORKER_PORT.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { scrubStatement } from '../../server/db/query-timing.ts';
import { queueStatsReader } from '../../server/jobs/queue-stats.ts';
import { QUEUE_NAMES } from '../../shared/jobs.ts';
import { type ExecutionHarness, logSettles, setupAlpacaStrategy, startExecutionHarness } from '../helpers/execution.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import { postAlert } from '../helpers/webhooks.ts';
import { startWorkerProcess } from '../helpers/worker-process.ts';

// Read by server/lib/env.ts when it loads, so it is set before any import.
const TOKEN = vi.hoisted(() => {
  const token = 'metrics-test-token-3c1f9a77';
  process.env.METRICS_TOKEN = token;
  return token;
});

let harness: ExecutionHarness;
beforeAll(async () => {
  harness = await startExecutionHarness();
  harness.server.deps.readQueueStats = queueStatsReader(harness.server.queues);
  harness.alpaca.controls.setPrice('AAPL', '100');
});
afterAll(() => harness.close());

async function scrape(baseUrl: string, token?: string): Promise<{ status: number; text: string; type: string }> {
  const response = await fetch(`${baseUrl}/metrics`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  return { status: response.status, text: await response.text(), type: response.headers.get('content-type') ?? '' };
}

/** The value of one series, e.g. `sample(text, 'x_total', {a: '1'})`; undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

describe('the api /metrics', () => {
  it('answers 401 without the metrics token or with a wrong one', async () => {
    expect((await scrape(harness.server.url)).status).toBe(401);
    expect((await scrape(harness.server.url, 'not-the-metrics-token')).status).toBe(401);
  });

  it('after an alert reaches the broker, shows every series of the operations chapter', async () => {
    const routed = await setupAlpacaStrategy(harness);
    const answer = await routed.send({ ticker: 'AAPL', action: 'buy', quantity: '1' });
    expect(answer.status).toBe(202);
    expect((await logSettles(harness, answer.body.id, ['executed', 'failed'])).status).toBe('executed');
    const unknown = `unknown-${randomUUID()}`.replace(/-/g, '');
    expect((await postAlert(harness.server.url, unknown, '{}')).status).toBe(404);
    await routed.trader.client.portfolio.getOverview.query({}).catch(() => undefined);

    const { status, text, type } = await scrape(harness.server.url, TOKEN);
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain/);
    expect(text).not.toContain(routed.token);
    expect(text).not.toContain(unknown);

    const webhookRoute = { route: '/api/v1/webhooks/tradingview/:token', method: 'POST' };
    const http = 'fillpath_http_request_duration_seconds_count';
    expect(sample(text, http, { ...webhookRoute, status_class: '2xx' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, http, { ...webhookRoute, status_class: '4xx' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'fillpath_webhook_alerts_total', { outcome: 'accepted', code: '' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'fillpath_webhook_alerts_total', { outcome: 'refused', code: 'not-found' })).toBe(1);
    expect(
      sample(text, 'fillpath_trpc_procedure_duration_seconds_count', {
        procedure: 'strategies.create',
        type: 'mutation',
        status_class: '2xx',
      }),
    ).toBeGreaterThanOrEqual(1);

    expect(sample(text, 'fillpath_signal_to_order_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'fillpath_signal_to_order_seconds_bucket', { le: '+Inf' })).toBeGreaterThanOrEqual(1);
    const submit = { broker: 'alpaca', op: 'submitOrder', outcome: 'ok' };
    expect(sample(text, 'fillpath_broker_call_duration_seconds_count', submit)).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'fillpath_broker_breakers', { broker: 'alpaca', state: 'closed' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'fillpath_broker_breakers', { broker: 'alpaca', state: 'open' })).toBe(0);

    for (const queue of QUEUE_NAMES) {
      expect(sample(text, 'fillpath_queue_jobs', { queue, state: 'waiting' }), queue).toBeGreaterThanOrEqual(0);
    }
    expect(sample(text, 'fillpath_queue_jobs', { queue: 'signals', state: 'completed' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'fillpath_db_pool_max_connections', { pool: 'primary' })).toBeGreaterThanOrEqual(4);
    expect(sample(text, 'fillpath_db_pool_connections', { pool: 'primary', state: 'idle' })).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'fillpath_db_pool_waiting_requests', { pool: 'primary' })).toBe(0);
    expect(sample(text, 'fillpath_db_query_duration_seconds_count')).toBeGreaterThan(10);
    expect(
      sample(text, 'fillpath_cache_requests_total', { cache: 'portfolio', result: 'miss' }),
    ).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('counts a statement slower than SLOW_QUERY_MS and logs it with its values replaced', async () => {
    const secret = `slow-query-secret-${randomUUID()}`;
    rememberSecret(secret);
    const before = sample((await scrape(harness.server.url, TOKEN)).text, 'fillpath_db_slow_queries_total') ?? 0;
    // As Drizzle sends a statement: bound values inlined by the driver.
    await harness.server.deps.database.pool.query('SELECT SLEEP(?) AS waited, ? AS marker', [0.25, secret]);

    const after = sample((await scrape(harness.server.url, TOKEN)).text, 'fillpath_db_slow_queries_total');
    expect(after).toBe(before + 1);
    const file = process.env.LOG_FILE;
    if (!file) throw new Error('LOG_FILE is not set by the test setup');
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.includes('"slow query"') && line.includes('AS marker'));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(lines.at(-1) ?? '{}')).toMatchObject({ statement: 'SELECT SLEEP(?) AS waited, ? AS marker' });
    expect(lines.join('\n')).not.toContain(secret);
  });

  it('replaces every literal of a statement, and shortens long lists', () => {
    expect(
      scrubStatement(
        "insert into `users` (`email`, `password_hash`, `n1`) values ('a@b.c', '$argon2id$v=19\\'x', -12.5e3), (X'0aff', 0x1F, \"q\")",
      ),
    ).toBe('insert into `users` (`email`, `password_hash`, `n1`) values (?, ?, ?), (?, ?, ?)');
    expect(scrubStatement("select * from `t2` where `id` in (1, 2, 3, 4, 5) and `x` = 'it''s'")).toBe(
      'select * from `t2` where `id` in (?, …) and `x` = ?',
    );
  });
});

describe('the worker port', () => {
  it('serves /metrics openly without METRICS_TOKEN, and probes that include its processors', async () => {
    const worker = await startWorkerProcess({ METRICS_TOKEN: '' });
    try {
      await worker.ready();
      const base = `http://127.0.0.1:${worker.port}`;
      const { status, text } = await scrape(base);
      expect(status).toBe(200);
      expect(sample(text, 'fillpath_db_pool_max_connections', { pool: 'primary' })).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'fillpath_queue_jobs', { queue: 'signals', state: 'waiting' })).toBeGreaterThanOrEqual(0);
      expect(sample(text, 'fillpath_broker_breakers', { broker: 'ibkr', state: 'open' })).toBe(0);
      expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);

      const summary = (await (await fetch(`${base}/health`)).json()) as { components: Record<string, string> };
      expect(summary.components).toMatchObject({ database: 'ok', redis: 'ok', migrations: 'ok', workers: 'ok' });
      expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    } finally {
      expect(await worker.stop()).toBe(0);
    }
  });
});
