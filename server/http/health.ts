/**
 * Probes for orchestrators: /health/live (the process answers), /health/ready (MySQL, Redis, migrations, not
 * draining, and in the worker every processor running: 503 otherwise, with the component that failed) and /health
 * (a summary without secrets).
 */
import type { FastifyInstance } from 'fastify';
import { checkReadiness, type HealthProbes } from '../services/health/readiness.ts';

export interface HealthRouteOptions {
  /** The worker's processors: not ready while one of them has stopped taking jobs. */
  workersRunning?: () => boolean;
}

export function registerHealthRoutes(app: FastifyInstance, probes: HealthProbes, options: HealthRouteOptions = {}) {
  const noStore = { 'cache-control': 'no-store' };
  const check = async () => {
    const readiness = await checkReadiness(probes);
    const workers = options.workersRunning ? options.workersRunning() : undefined;
    return { ...readiness, ready: readiness.ready && workers !== false, workers };
  };

  app.get('/health/live', async (_request, reply) => reply.headers(noStore).send({ ok: true, status: 'live' }));

  app.get('/health/ready', async (_request, reply) => {
    const readiness = await check();
    const failing = Object.entries(readiness.components)
      .filter(([, component]) => !component.ok)
      .map(([name]) => name);
    if (readiness.workers === false) failing.push('workers');
    if (readiness.draining) failing.push('draining');
    return reply
      .headers(noStore)
      .status(readiness.ready ? 200 : 503)
      .send({ ok: readiness.ready, status: readiness.ready ? 'ready' : 'not-ready', failing });
  });

  app.get('/health', async (_request, reply) => {
    const readiness = await check();
    const components: Record<string, 'ok' | 'down'> = Object.fromEntries(
      Object.entries(readiness.components).map(([name, component]) => [name, component.ok ? 'ok' : 'down']),
    );
    if (readiness.workers !== undefined) components.workers = readiness.workers ? 'ok' : 'down';
    return reply
      .headers(noStore)
      .status(readiness.ready ? 200 : 503)
      .send({
        ok: readiness.ready,
        status: readiness.ready ? 'ok' : 'degraded',
        draining: readiness.draining,
        components,
      });
  });
}
