/**
 * The worker's own small HTTP server on WORKER_PORT: /health/live, /health/ready (MySQL, Redis, migrations, every
 * BullMQ worker running, not draining), /health and /metrics. It listens before the schedulers register, so the
 * probes answer while the worker waits for Redis, and closes with the worker's shutdown.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from '../lib/logger.ts';
import type { HealthProbes } from '../services/health/readiness.ts';
import { registerHealthRoutes } from './health.ts';
import { registerMetricsRoute } from './metrics.ts';

export interface WorkerServerOptions {
  probes: HealthProbes;
  /** Whether every BullMQ worker of the process is still running (a worker whose loop ended takes no jobs). */
  workersRunning: () => boolean;
  /** METRICS_TOKEN: when set, /metrics asks for it; unset, the port is internal and /metrics is open. */
  metricsToken?: string;
  logger: Logger;
}

export function buildWorkerServer(options: WorkerServerOptions): FastifyInstance {
  const server = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Probes and scrapes arrive every few seconds; logging each would drown the job logs.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  });
  registerHealthRoutes(server, options.probes, { workersRunning: options.workersRunning });
  registerMetricsRoute(server, { token: options.metricsToken });
  return server;
}
