/**
 * Unexpected database failures are logged for operators, but a failed statement carries its bound values (password
 * hashes, ciphertexts, token hashes): the log line names the failure without any of them.
 */

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiClient, signUp, trpcFailure } from '../helpers/client.ts';
import { rememberSecret } from '../helpers/secrets.ts';

let server: TestApp;
beforeAll(async () => {
  server = await startTestApp();
});
afterEach(() => server.deps.database.pool.query('DROP TRIGGER IF EXISTS refuse_for_test'));
afterAll(() => server.close());

async function refuse(table: string, event: 'INSERT' | 'UPDATE') {
  await server.deps.database.pool.query(
    `CREATE TRIGGER refuse_for_test BEFORE ${event} ON ${table} FOR EACH ROW
       SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'`,
  );
}

function logLinesWith(requestId: string): string[] {
  const file = process.env.LOG_FILE;
  if (!file) throw new Error('LOG_FILE is not set by the test setup');
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.includes(requestId));
}

it('a failed insert of a new user logs the failure, not the password hash', async () => {
  const requestId = `req-${randomUUID()}`;
  const password = `pw-${randomUUID()}`;
  rememberSecret(password);
  await refuse('users', 'INSERT');
  const client = apiClient(server.url, undefined, { 'x-request-id': requestId });
  const error = await trpcFailure(() =>
    client.auth.register.mutate({ email: `${randomUUID().slice(0, 8)}@example.com`, password, name: 'N' }),
  );
  expect(error.data?.code).toBe('INTERNAL_SERVER_ERROR');
  const lines = logLinesWith(requestId).join('\n');
  expect(lines).toContain('database query failed');
  expect(lines).toContain('refused by the test');
  expect(lines).not.toMatch(/\$argon2id\$|insert into/i);
});

it('a failed update of broker credentials logs the failure, not the ciphertext or the credentials', async () => {
  const trader = await signUp(server.url);
  const connection = await trader.client.brokers.connect.mutate({
    broker: 'alpaca',
    name: 'Logged',
    environment: 'paper',
    credentials: { keyId: 'PKLOGTEST00000001', secretKey: 'log-test-secret-key-0001' },
  });
  rememberSecret('log-test-secret-key-0001', 'log-test-secret-key-0002');
  await refuse('broker_connections', 'UPDATE');
  const requestId = `req-${randomUUID()}`;
  const client = apiClient(server.url, trader.accessToken, { 'x-request-id': requestId });
  const error = await trpcFailure(() =>
    client.brokers.updateConnection.mutate({
      id: connection.id,
      credentials: { keyId: 'PKLOGTEST00000002', secretKey: 'log-test-secret-key-0002' },
    }),
  );
  expect(error.data?.code).toBe('INTERNAL_SERVER_ERROR');
  const lines = logLinesWith(requestId).join('\n');
  expect(lines).toContain('database query failed');
  expect(lines).not.toMatch(/v1:[A-Za-z0-9_-]+:|log-test-secret-key|update `?broker_connections/i);
});
