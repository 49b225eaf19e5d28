/**
 * buildApp(deps) → a Fastify instance with every route registered but not listening: the api entry listens on it,
 * tests drive it with `inject` or a real port.
 */
import cors from '@fastify/cors';
import type { AnyRouter } from '@trpc/server';
import { type FastifyTRPCPluginOptions, fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { BrokerRegistry } from './brokers/registry.ts';
import type { DatabaseHandle } from './db/client.ts';
import { httpErrorHandler, sendHttpError } from './http/errors.ts';
import { registerHealthRoutes } from './http/health.ts';
import { observeHttpDurations, registerMetricsRoute } from './http/metrics.ts';
import { registerGlobalRateLimit } from './http/rate-limit.ts';
import { API_HELMET_OPTIONS, registerSecurityHeaders } from './http/security-headers.ts';
import { registerTradingViewRoute } from './http/tradingview.ts';
import type { ReadQueueStats } from './jobs/queue-stats.ts';
import { env } from './lib/env.ts';
import type { Lifecycle } from './lib/lifecycle.ts';
import { logger as defaultLogger, type Logger, redactUrl } from './lib/logger.ts';
import { addMetricSources, registerCacheCounters } from './lib/metrics.ts';
import { createRateLimiters, type RateLimitConfig } from './lib/rate-limit.ts';
import { duplicateRedis, type RedisClient } from './lib/redis-client.ts';
import { newRequestId } from './lib/request-id.ts';
import { reportError } from './lib/sentry.ts';
import type { SessionSchedules } from './services/brokers/sessions/schedules.ts';
import type { EnqueueReplay } from './services/dead-letters/replay.ts';
import { EventHub } from './services/events/hub.ts';
import { registerExecutionReplayHooks } from './services/orders/replay-hook.ts';
import { portfolioCacheCounters } from './services/portfolio/cache.ts';
import type { EnqueueReconcile } from './services/reconcile/request-run.ts';
import type { ReconcileSchedules } from './services/reconcile/schedules.ts';
import { connectCacheBroadcast } from './services/webhooks/strategy-cache.ts';
import { appRouter } from './trpc/app-router.ts';
import { createContextFactory } from './trpc/context.ts';
import { retryAfterResponseMeta } from './trpc/middleware/rate-limit.ts';

export const TRPC_PREFIX = '/api/v1/trpc';

export interface AppDeps {
  database: DatabaseHandle;
  /** The producer connection: fails fast when Redis is down. */
  redis: RedisClient;
  lifecycle: Lifecycle;
  /** One adapter, breaker and pacer per broker connection, shared by every request of this process. */
  brokers: BrokerRegistry;
  /**
   * Enqueues the signal job of a committed webhook log (server/jobs/enqueue.ts on queues over `redis`); rejects at
   * once when Redis is down, and the outbox sweep enqueues the log later.
   */
  enqueueSignal(webhookLogId: number): Promise<unknown>;
  /**
   * Enqueues an approved staged signal's job again (enqueueApprovedSignal); rejects when Redis is down, and the
   * expire-staged job enqueues it later.
   */
  enqueueApprovedSignal(webhookLogId: number): Promise<unknown>;
  /** Producers of submit jobs and status polls (server/jobs/enqueue.ts), for order verbs the api runs (cancelOrder). */
  enqueueSubmit(orderIds: number[]): Promise<void>;
  enqueuePoll(orderId: number, poll: number, delayMs: number): Promise<void>;
  /**
   * Adds a replayed dead letter's job to its original queue under `jobId` (server/jobs/dead-letters.ts); rejects
   * when Redis is unavailable, and the dead letter goes back to open.
   */
  enqueueReplay: EnqueueReplay;
  /**
   * Queues an on-demand reconciliation run of a connection (server/jobs/schedulers.ts enqueueReconcileNow); without
   * it brokers.reconcile answers service-unavailable.
   */
  enqueueReconcile?: EnqueueReconcile;
  /**
   * The per-connection reconciliation schedulers (server/jobs/schedulers.ts reconcileSchedules), kept in step when a
   * connection is created, changed or disconnected; without it the worker's periodic sync alone keeps them.
   */
  reconcileSchedules?: ReconcileSchedules;
  /**
   * The per-connection session-upkeep schedulers (server/jobs/schedulers.ts sessionSchedules), kept in step the same
   * way; without it the worker's periodic sync alone keeps them.
   */
  sessionSchedules?: SessionSchedules;
  /** Ingestion settings (server/services/webhooks/ingest.ts); tests shorten the dedup window or move the clock. */
  ingest?: { dedupWindowS?: number; now?: () => number };
  /**
   * Job counts per queue (server/jobs/queue-stats.ts), for admin.queues.stats, health.details and /metrics; without
   * it those report the queues as unavailable.
   */
  readQueueStats?: ReadQueueStats;
}

export interface BuildAppOptions {
  /** Tests serve extra procedures; production serves appRouter. */
  router?: AnyRouter;
  logger?: Logger;
  /** Budgets replacing the defaults of server/lib/rate-limit.ts (tests use small ones). */
  rateLimits?: Partial<RateLimitConfig>;
  /** Serves /metrics behind this bearer token (METRICS_TOKEN by default); without one, /metrics is not served. */
  metricsToken?: string;
}

export async function buildApp(deps: AppDeps, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  // admin.deadLetters.replay runs here: a replayed order must find its engine's hook (the worker registers it too).
  registerExecutionReplayHooks();
  const loggerInstance: FastifyBaseLogger = options.logger ?? defaultLogger;
  const app = Fastify({
    loggerInstance,
    bodyLimit: env.BODY_LIMIT_BYTES,
    requestTimeout: env.REQUEST_TIMEOUT_MS,
    trustProxy: env.TRUST_PROXY,
    // Batched tRPC paths (`a.b,c.d,…`) travel as one URL parameter.
    routerOptions: { maxParamLength: 5_000 },
    requestIdHeader: false,
    genReqId: (request) => newRequestId(request.headers['x-request-id']),
    // A request reaching a draining api (a keep-alive connection, after the shutdown signal) is answered below in
    // the API's error shape (SPEC §4); Fastify's own 503 would send a body of its own.
    return503OnClosing: false,
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // Probes keep answering throughout (liveness stays up, readiness says `draining`).
    if (!deps.lifecycle.draining || request.url.startsWith('/health')) return;
    // Draining, in the grace period: served as usual, but the connection ends with the answer, so a keep-alive
    // client opens its next one through the load balancer (to another instance) instead of riding this one.
    reply.header('connection', 'close');
    if (deps.lifecycle.closing) {
      reply.header('retry-after', '5');
      return sendHttpError(reply, 503, {
        code: 'service-unavailable',
        message: 'This server is shutting down; send the request again',
      });
    }
  });
  observeHttpDurations(app);

  registerSecurityHeaders(app, API_HELMET_OPTIONS);
  await app.register(cors, {
    origin: (origin, callback) => callback(null, !origin || env.CORS_ORIGINS.includes(origin)),
    credentials: true,
    exposedHeaders: ['x-request-id', 'retry-after'],
    maxAge: 600,
  });

  // After CORS, so a browser can read a 429 and its Retry-After.
  const log = options.logger ?? defaultLogger;
  const rateLimiters = createRateLimiters(deps.redis, log, options.rateLimits);
  registerGlobalRateLimit(app, rateLimiters.globalPerIp);

  app.setErrorHandler(httpErrorHandler);
  app.setNotFoundHandler((request, reply) =>
    sendHttpError(reply, 404, {
      code: 'not-found',
      // Redacted: a mistyped webhook URL still carries its token.
      message: `No route for ${request.method} ${redactUrl(request.url.split('?')[0] ?? '')}`,
    }),
  );

  registerHealthRoutes(app, deps);
  const metricsToken = options.metricsToken ?? env.METRICS_TOKEN;
  if (metricsToken) registerMetricsRoute(app, { token: metricsToken });
  // Read when Prometheus scrapes (deps fields are read then, so a test may wire them after building the app).
  const removeMetricSources = addMetricSources({
    breakers: () => deps.brokers.breakerStates(),
    queues: () => (deps.readQueueStats ? deps.readQueueStats() : Promise.reject(new Error('no queue reader'))),
    pools: () => deps.database.poolStatsByName(),
  });
  app.addHook('onClose', async () => removeMetricSources());
  registerCacheCounters('portfolio', () => ({
    hit: portfolioCacheCounters.hits,
    miss: portfolioCacheCounters.misses,
    coalesced: portfolioCacheCounters.coalesced,
    bypassed: portfolioCacheCounters.bypassed,
  }));
  await registerTradingViewRoute(app, deps, log);
  wireStrategyCache(app, deps.redis, log);
  const eventHub = new EventHub(deps.redis, log);
  // Before the server closes (it waits for open responses): open event streams end with a retryable error, so their
  // clients reconnect to another instance and resume.
  app.addHook('preClose', async () => eventHub.close());

  await app.register(fastifyTRPCPlugin, {
    prefix: TRPC_PREFIX,
    trpcOptions: {
      router: options.router ?? appRouter,
      createContext: createContextFactory(deps, rateLimiters, eventHub),
      maxBatchSize: env.TRPC_MAX_BATCH_SIZE,
      // Once per failed call: only what the error formatter masks (a bug, not an answer) goes to Sentry.
      onError: ({ error, ctx, path }) => {
        if (error.code !== 'INTERNAL_SERVER_ERROR') return;
        const context = ctx as { requestId?: string; user?: { id: number } | null } | undefined;
        reportError(error.cause ?? error, { requestId: context?.requestId, userId: context?.user?.id, route: path });
      },
      responseMeta: (opts) => {
        const meta = retryAfterResponseMeta(opts);
        // An event stream's connection is not reused once the stream ends (shutdown, an expired token): the client's
        // reconnection opens a new one, which a closing instance refuses so it goes elsewhere, instead of meeting a
        // 503 on the old socket, which an EventSource takes as final.
        return opts.type === 'subscription' ? { headers: { ...meta.headers, connection: 'close' } } : meta;
      },
    },
  } satisfies FastifyTRPCPluginOptions<AnyRouter>);

  return app;
}

/**
 * Strategy changes made by any api process reach this one's webhook strategy cache through Redis pub/sub, on a
 * connection of its own (a subscribed connection can send nothing else), closed with the app.
 */
function wireStrategyCache(app: FastifyInstance, redis: RedisClient, log: Logger): void {
  const subscriber = duplicateRedis(redis);
  subscriber.on('error', () => undefined); // the producer connection already reports Redis outages
  const disconnect = connectCacheBroadcast({ publisher: redis, subscriber, log });
  app.addHook('onClose', async () => {
    await disconnect();
    subscriber.disconnect();
  });
}
