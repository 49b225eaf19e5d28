/**
 * Error reporting, with a local HTTP receiver standing in for Sentry (the DSN points at it; the SDK posts envelopes
 * to `/api/<project>/envelope/`): each unexpected error of a procedure, an HTTP route or a job is one event, tagged
 * with its request or job and the user's id (never the email); expected answers (not found, validation, rate limit,
 * forbidden, a broker's rejection) send nothing; and no event carries a password, token, credential, ciphertext or
 * statement.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { createTRPCClient, httpLink } from '@trpc/client';
import type { Job } from 'bullmq';
import superjson from 'superjson';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { signalsQueue } from '../../server/jobs/queues/index.ts';
import { defineProcessor, FinalJobError } from '../../server/jobs/run-processor.ts';
import { logger } from '../../server/lib/logger.ts';
import { flushSentry, initSentry } from '../../server/lib/sentry.ts';
import { NotFound } from '../../server/services/errors.ts';
import { startTestApp, type TestApp, waitFor } from '../helpers/app.ts';
import { apiClient, signUp, trpcFailure } from '../helpers/client.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import { type TestRouter, testRouter } from '../helpers/test-router.ts';

interface SentEvent {
  raw: string;
  event: {
    tags?: Record<string, string>;
    user?: Record<string, unknown>;
    exception?: { values?: Array<{ type?: string; value?: string }> };
  };
}

/** The stand-in for Sentry: every event item of every envelope it receives. */
const received: SentEvent[] = [];
let receiver: Server;
let server: TestApp;

function parseEnvelope(body: string): SentEvent[] {
  // Header line, then (item header, item payload) pairs.
  const lines = body.split('\n').filter(Boolean);
  const events: SentEvent[] = [];
  for (let index = 1; index + 1 < lines.length; index += 2) {
    const header = JSON.parse(lines[index] ?? '{}') as { type?: string };
    const payload = lines[index + 1] ?? '';
    if (header.type === 'event') events.push({ raw: payload, event: JSON.parse(payload) });
  }
  return events;
}

beforeAll(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const text = request.headers['content-encoding'] === 'gzip' ? gunzipSync(body).toString() : body.toString();
      if (/^\/api\/\d+\/envelope\/$/.test(request.url?.split('?')[0] ?? '')) received.push(...parseEnvelope(text));
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  const { port } = receiver.address() as AddressInfo;
  expect(
    await initSentry({ dsn: `http://0123456789abcdef0123456789abcdef@127.0.0.1:${port}/42`, processName: 'api' }),
  ).toBe(true);
  server = await startTestApp({ router: testRouter });
});

afterAll(async () => {
  await server.close();
  const sentry = await import('@sentry/node');
  await sentry.close(2_000);
  receiver.close();
});

afterEach(() => server.deps.database.pool.query('DROP TRIGGER IF EXISTS refuse_for_sentry_test'));

/** The events received from now until `during` has run and the SDK has sent everything it holds. */
async function eventsDuring(during: () => Promise<unknown>, expected: number): Promise<SentEvent[]> {
  const from = received.length;
  await during();
  await flushSentry(5_000);
  if (expected > 0) await waitFor(async () => received.length - from >= expected, 5_000, 20);
  return received.slice(from);
}

function testClient() {
  return createTRPCClient<TestRouter>({
    links: [httpLink({ url: `${server.url}/api/v1/trpc`, transformer: superjson })],
  });
}

function expectNoSecrets(events: SentEvent[], secrets: string[]) {
  const text = events.map((sent) => sent.raw).join('\n');
  for (const secret of secrets) expect(text).not.toContain(secret);
  expect(text).not.toMatch(/\$argon2id\$|v1:[A-Za-z0-9_-]{8,}:|update `?broker_connections|insert into|@example\.com/i);
}

describe('procedures', () => {
  it('send nothing for expected answers: not found, validation, rate limit, unauthorized', async () => {
    const client = testClient();
    const events = await eventsDuring(async () => {
      await trpcFailure(() => client.test.missing.query());
      await trpcFailure(() => client.test.echo.query({ quantity: 0, symbol: '' }));
      await trpcFailure(() => client.test.throttled.mutate());
      await trpcFailure(() => apiClient(server.url).account.get.query());
    }, 0);
    expect(events).toEqual([]);
  });

  it('report a failed statement once, tagged with the request and the user id, without the credentials', async () => {
    const trader = await signUp(server.url);
    const secretKey = `sentry-secret-key-${randomUUID()}`;
    rememberSecret(secretKey);
    const connection = await trader.client.brokers.connect.mutate({
      broker: 'alpaca',
      name: 'Reported',
      environment: 'paper',
      credentials: { keyId: 'PKSENTRYTEST000001', secretKey: `${secretKey}-old` },
    });
    await server.deps.database.pool.query(
      `CREATE TRIGGER refuse_for_sentry_test BEFORE UPDATE ON broker_connections FOR EACH ROW
         SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'`,
    );
    const requestId = `req-${randomUUID()}`;
    const client = apiClient(server.url, trader.accessToken, { 'x-request-id': requestId });

    const events = await eventsDuring(async () => {
      const error = await trpcFailure(() =>
        client.brokers.updateConnection.mutate({
          id: connection.id,
          credentials: { keyId: 'PKSENTRYTEST000002', secretKey },
        }),
      );
      expect(error.data?.code).toBe('INTERNAL_SERVER_ERROR');
    }, 1);

    expect(events).toHaveLength(1);
    const [sent] = events;
    expect(sent?.event.tags).toMatchObject({
      request_id: requestId,
      route: 'brokers.updateConnection',
      process: 'api',
    });
    expect(sent?.event.user).toEqual({ id: String(trader.id) });
    expect(sent?.event.exception?.values?.map((value) => value.value)).toContainEqual(
      expect.stringContaining('refused by the test'),
    );
    expectNoSecrets(events, [secretKey, trader.email, trader.password, trader.accessToken, trader.refreshToken]);
  });

  it('report an unexpected error of a procedure once', async () => {
    const events = await eventsDuring(() => trpcFailure(() => testClient().test.boom.query()), 1);
    expect(events).toHaveLength(1);
    expect(events[0]?.event.tags?.route).toBe('test.boom');
  });
});

describe('HTTP routes', () => {
  it('report an unexpected error once, with tokens cut from its message', async () => {
    const app = await buildApp(server.deps, { router: testRouter });
    const botToken = `123456:AAE${randomUUID().replace(/-/g, '')}`;
    const bearer = `tok${randomUUID().replace(/-/g, '')}`;
    // Not registered as log secrets: the route's own log line keeps the message it was thrown with (the logger
    // scrubs fields and statements, not free text); what matters here is what leaves for Sentry.
    app.get('/test/boom', async () => {
      throw new Error(`POST https://api.telegram.org/bot${botToken}/sendMessage failed with Bearer ${bearer}`);
    });
    try {
      const events = await eventsDuring(async () => {
        const response = await app.inject({
          method: 'GET',
          url: '/test/boom',
          headers: { 'x-request-id': 'req-boom-1' },
        });
        expect(response.statusCode).toBe(500);
        const missing = await app.inject({ method: 'GET', url: '/no/such/route' });
        expect(missing.statusCode).toBe(404);
      }, 1);
      expect(events).toHaveLength(1);
      expect(events[0]?.event.tags).toMatchObject({ request_id: 'req-boom-1', route: '/test/boom' });
      expectNoSecrets(events, [botToken, bearer]);
    } finally {
      await app.close();
    }
  });
});

describe('jobs', () => {
  function job(id: string): Job {
    return {
      name: 'execute-signal',
      id,
      data: { webhookLogId: 1 },
      attemptsMade: 0,
      opts: { attempts: 3 },
      timestamp: Date.now(),
    } as unknown as Job;
  }
  const deps = { db: {} as never, log: logger };

  it('report an unexpected failure once per attempt, tagged with the queue, job and job id', async () => {
    const processor = defineProcessor(signalsQueue, deps, {
      'execute-signal': async () => {
        throw new Error('cannot read properties of undefined (reading "quantity")');
      },
    });
    const events = await eventsDuring(() => expect(processor(job('log-77'), 'lock')).rejects.toThrow(), 1);
    expect(events).toHaveLength(1);
    expect(events[0]?.event.tags).toMatchObject({
      queue: 'signals',
      job: 'execute-signal',
      job_id: 'log-77',
      attempt: '1',
    });
  });

  it('send nothing for a typed failure the runner expects', async () => {
    const processor = defineProcessor(signalsQueue, deps, {
      'execute-signal': async () => {
        throw new NotFound('webhook log');
      },
    });
    const events = await eventsDuring(() => expect(processor(job('log-78'), 'lock')).rejects.toThrow(FinalJobError), 0);
    expect(events).toEqual([]);
  });
});
