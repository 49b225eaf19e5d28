/**
 * The process's Prometheus metrics (SPEC §10), one registry per process, served on /metrics by the api and the worker
 * (server/http/metrics.ts). Code observes through the functions below, so services never touch prom-client:
 * - hot paths (HTTP requests, procedures, webhook outcomes, broker calls, queries) use the allocation-free series of
 *   ./metric-types.ts, resolved per label combination once;
 * - state (breakers, queue depths, pools, caches) is read from registered sources when Prometheus scrapes.
 * Every label takes its value from a small fixed set: route templates (never raw URLs), procedure paths, broker, op
 * and outcome names, queue names and states.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { BROKERS } from '#shared/enums.ts';
import { BREAKER_STATES, type PoolStats, type QueueStats } from '#shared/schemas/health.ts';
import { FastCounter, FastHistogram, type HistogramSeries } from './metric-types.ts';

export const metricsRegistry = new Registry();

let processMetricsStarted = false;
/** CPU, memory, event-loop lag, GC and handles (prom-client's defaults), once per process that serves /metrics. */
export function startProcessMetrics(): void {
  if (processMetricsStarted) return;
  processMetricsStarted = true;
  collectDefaultMetrics({ register: metricsRegistry });
}

export function renderMetrics(): Promise<string> {
  return metricsRegistry.metrics();
}
export const METRICS_CONTENT_TYPE = metricsRegistry.contentType;

const registry = metricsRegistry;
// 1 ms to 10 s: request, procedure, broker call and query durations alike.
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const STATUS_CLASSES = ['1xx', '1xx', '2xx', '3xx', '4xx', '5xx'];
const statusClass = (status: number) => STATUS_CLASSES[Math.trunc(status / 100)] ?? 'other';

const httpDuration = new FastHistogram({
  name: 'fillpath_http_request_duration_seconds',
  help: 'HTTP requests by route template, method and status class',
  labelNames: ['route', 'method', 'status_class'],
  buckets: DURATION_BUCKETS,
  registry,
});

/** `route` is the matched route's template; requests no route matched share one series. */
export function observeHttpRequest(route: string | undefined, method: string, status: number, elapsedMs: number) {
  httpDuration.labels(route ?? 'unmatched', method, statusClass(status)).observe(elapsedMs / 1000);
}

const procedureDuration = new FastHistogram({
  name: 'fillpath_trpc_procedure_duration_seconds',
  help: 'tRPC procedure calls (each call of a batch) by procedure path, type and status class',
  labelNames: ['procedure', 'type', 'status_class'],
  buckets: DURATION_BUCKETS,
  registry,
});

export function observeProcedure(path: string, type: string, status: number, elapsedMs: number): void {
  procedureDuration.labels(path, type, statusClass(status)).observe(elapsedMs / 1000);
}

const webhookAlerts = new FastCounter({
  name: 'fillpath_webhook_alerts_total',
  help: 'TradingView alerts by outcome (accepted, duplicate, rejected with a log row, refused without one, unavailable) and error code',
  labelNames: ['outcome', 'code'],
  registry,
});

type WebhookAnswer = { ok: true; status: string } | { ok: false; code: string; id?: number };

export function countWebhookAlert(httpStatus: number, body: WebhookAnswer): void {
  if (body.ok) {
    webhookAlerts.labels(body.status, '').inc();
    return;
  }
  const outcome = httpStatus === 503 ? 'unavailable' : body.id === undefined ? 'refused' : 'rejected';
  webhookAlerts.labels(outcome, body.code).inc();
}

const signalToOrder: HistogramSeries = new FastHistogram({
  name: 'fillpath_signal_to_order_seconds',
  help: "From a signal job's creation (right after its alert was logged) to the broker's acceptance of each of its orders",
  buckets: [0.005, 0.01, 0.015, 0.025, 0.04, 0.06, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registry,
}).labels();

/**
 * Called once an order sent by its signal's job is at the broker. `ctx` is that job's context: the job runner
 * (server/jobs/run-processor.ts) puts the job's creation time in `ctx.job.createdAt`; elsewhere nothing is observed.
 * The job's creation, not the log's received_at, starts the clock, so a staged signal approved an hour later counts
 * from its approval.
 */
export function observeSignalToOrder(ctx: object): void {
  const createdAt = (ctx as { job?: { createdAt?: unknown } }).job?.createdAt;
  if (typeof createdAt === 'number') signalToOrder.observe((Date.now() - createdAt) / 1000);
}

const brokerCalls = new FastHistogram({
  name: 'fillpath_broker_call_duration_seconds',
  help: 'Broker calls by broker, operation and outcome (ok, rejected, auth_expired, unavailable, short_circuit, error)',
  labelNames: ['broker', 'op', 'outcome'],
  buckets: DURATION_BUCKETS,
  registry,
});

export function observeBrokerCall(broker: string, op: string, outcome: string, elapsedMs: number): void {
  brokerCalls.labels(broker, op, outcome).observe(elapsedMs / 1000);
}

const breakerTransitions = new FastCounter({
  name: 'fillpath_broker_breaker_transitions_total',
  help: 'Circuit breaker state changes by broker and the state entered',
  labelNames: ['broker', 'state'],
  registry,
});

export function countBreakerTransition(broker: string, state: string): void {
  breakerTransitions.labels(broker, state).inc();
}

const queryDuration: HistogramSeries = new FastHistogram({
  name: 'fillpath_db_query_duration_seconds',
  help: 'MySQL statements, from sending to the answer (the wait for a pooled connection excluded)',
  buckets: DURATION_BUCKETS,
  registry,
}).labels();
const slowQueries = new FastCounter({
  name: 'fillpath_db_slow_queries_total',
  help: 'MySQL statements slower than SLOW_QUERY_MS (each is logged)',
  registry,
}).labels();

export function observeQuery(elapsedMs: number, slow: boolean): void {
  queryDuration.observe(elapsedMs / 1000);
  if (slow) slowQueries.inc();
}

/** What a process registers for the scrape-time gauges; each reader is called on every scrape. */
export interface MetricSources {
  breakers?: () => Iterable<{ broker: string; state: string }>;
  /** May answer from a copy a few seconds old (server/jobs/queue-stats.ts). */
  queues?: () => Promise<QueueStats>;
  /** Every MySQL pool's stats by pool name (`primary`, and `replica` with DATABASE_READ_URL). */
  pools?: () => Record<string, PoolStats>;
}

const sources = new Set<MetricSources>();

/** Registers a process's (or a test app's) sources; the returned function removes them again (on close). */
export function addMetricSources(added: MetricSources): () => void {
  sources.add(added);
  return () => {
    sources.delete(added);
  };
}

new Gauge({
  name: 'fillpath_broker_breakers',
  help: "This process's circuit breakers (one per broker connection in use) by broker and state",
  labelNames: ['broker', 'state'],
  registers: [registry],
  collect() {
    this.reset();
    // Every broker and state, zeros included, so `> 0` alerts have a series to look at.
    for (const broker of BROKERS) for (const state of BREAKER_STATES) this.set({ broker, state }, 0);
    for (const source of sources) {
      for (const report of source.breakers?.() ?? []) this.inc({ broker: report.broker, state: report.state });
    }
  },
});

new Gauge({
  name: 'fillpath_queue_jobs',
  help: 'Jobs per queue and state (read from Redis, at most a few seconds old)',
  labelNames: ['queue', 'state'],
  registers: [registry],
  async collect() {
    this.reset();
    // Every process sees the same queues: one reader is enough.
    const reader = [...sources].find((source) => source.queues)?.queues;
    if (!reader) return;
    try {
      const stats = await reader();
      for (const queue of stats.queues) {
        for (const [state, count] of Object.entries(queue.counts)) this.set({ queue: queue.name, state }, count);
      }
    } catch {
      // Redis unreachable: no series this scrape (the readiness probe reports the outage).
    }
  },
});

function poolGauge(name: string, help: string, labelNames: string[], read: (stats: PoolStats) => [string[], number][]) {
  return new Gauge({
    name,
    help,
    labelNames: ['pool', ...labelNames],
    registers: [registry],
    collect() {
      this.reset();
      for (const source of sources) {
        for (const [pool, stats] of Object.entries(source.pools?.() ?? {})) {
          for (const [values, value] of read(stats)) {
            const labels = Object.fromEntries([['pool', pool], ...labelNames.map((label, i) => [label, values[i]])]);
            this.inc(labels, value);
          }
        }
      }
    },
  });
}

poolGauge('fillpath_db_pool_connections', 'Open MySQL connections per pool, in use or idle', ['state'], (stats) => [
  [['in_use'], stats.inUse],
  [['idle'], stats.idle],
]);
poolGauge('fillpath_db_pool_max_connections', 'The connection limit of each MySQL pool (DB_POOL_SIZE)', [], (s) => [
  [[], s.limit],
]);
poolGauge('fillpath_db_pool_waiting_requests', 'Queries waiting for a free pooled connection', [], (s) => [
  [[], s.waiting],
]);

const caches = new Map<string, () => Record<string, number>>();

/**
 * A cache's running counts by result (e.g. `{hit, miss}`), read on every scrape into
 * `fillpath_cache_requests_total{cache, result}`; the counts must only grow. A second registration of a name replaces
 * the first.
 */
export function registerCacheCounters(cache: string, read: () => Record<string, number>): void {
  caches.set(cache, read);
}

new Counter({
  name: 'fillpath_cache_requests_total',
  help: 'Cache lookups by cache and result (hit ratio: hit / all)',
  labelNames: ['cache', 'result'],
  registers: [registry],
  collect() {
    this.reset();
    for (const [cache, read] of caches) {
      for (const [result, count] of Object.entries(read())) this.inc({ cache, result }, count);
    }
  },
});
