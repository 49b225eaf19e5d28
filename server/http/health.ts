/**
 * Probes for orchestrators: /health/live (the process answers), /health/ready (MySQL, Redis, migrations, not
 * draining: 503 otherwise, with the component that failed) and /health (a summary without secrets).
 */
import type { FastifyInstance } from 'fastify';
import { checkReadiness, type HealthProbes } from '../services/health/readiness.ts';

export function registerHealthRoutes(app: FastifyInstance, probes: HealthProbes) {
  const noStore = { 'cache-control': 'no-store' };

  app.get('/health/live', async (_request, reply) => reply.headers(noStore).send({ ok: true, status: 'live' }));

  app.get('/health/ready', async (_request, reply) => {
    const readiness = await checkReadiness(probes);
    const failing = Object.entries(readiness.components)
      .filter(([, component]) => !component.ok)
      .map(([name]) => name);
    if (readiness.draining) failing.push('draining');
    return reply
      .headers(noStore)
      .status(readiness.ready ? 200 : 503)
      .send({ ok: readiness.ready, status: readiness.ready ? 'ready' : 'not-ready', failing });
  });

  app.get('/health', async (_request, reply) => {
    const readiness = await checkReadiness(probes);
    const components = Object.fromEntries(
      Object.entries(readiness.components).map(([name, component]) => [name, component.ok ? 'ok' : 'down']),
    );
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
