import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { runShutdown } from '../../server/lib/lifecycle.ts';
import { loggerOptions, redactUrl } from '../../server/lib/logger.ts';
import { newRequestId } from '../../server/lib/request-id.ts';

const silent = pino({ level: 'silent' });

describe('request ids', () => {
  it('keeps a well-formed caller id and replaces anything else', () => {
    expect(newRequestId('req-2026-11-22_abc')).toBe('req-2026-11-22_abc');
    for (const bad of ['short', 'has space inside', 'x'.repeat(129), 'new\nline-injected', undefined]) {
      expect(newRequestId(bad)).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

describe('log redaction', () => {
  it('removes the webhook token from URLs', () => {
    expect(redactUrl('/api/v1/webhooks/tradingview/Zm9vYmFyYmF6cXV4?x=1')).toBe(
      '/api/v1/webhooks/tradingview/[redacted]?x=1',
    );
    expect(redactUrl('/api/v1/trpc/x?connectionParams=eyJhbGci&batch=1')).toBe(
      '/api/v1/trpc/x?connectionParams=[redacted]&batch=1',
    );
  });

  it('censors secrets wherever they sit in a log object', () => {
    const lines: string[] = [];
    const log = pino(
      { ...loggerOptions({ level: 'info' }), transport: undefined },
      { write: (line: string) => lines.push(line) },
    );
    log.info({
      password: 'hunter2-password',
      user: { refreshToken: 'rt-secret-value' },
      req: { headers: { authorization: 'Bearer abc.def.ghi' } },
      connection: { credentials: { secret: 'alpaca-secret' } },
    });
    const text = lines.join('');
    for (const secret of ['hunter2-password', 'rt-secret-value', 'abc.def.ghi', 'alpaca-secret']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('[redacted]');
  });
});

describe('runShutdown', () => {
  it('runs every step in order and reports a clean finish', async () => {
    const order: string[] = [];
    const step = (name: string) => ({ name, run: async () => void order.push(name) });
    expect(await runShutdown([step('http'), step('redis'), step('db')], 1_000, silent)).toBe(true);
    expect(order).toEqual(['http', 'redis', 'db']);
  });

  it('still closes connections after a step hangs past the deadline or throws', async () => {
    const order: string[] = [];
    const clean = await runShutdown(
      [
        { name: 'workers', run: () => new Promise(() => {}) },
        {
          name: 'queues',
          run: async () => {
            throw new Error('boom');
          },
        },
        { name: 'database', run: async () => void order.push('database') },
      ],
      50,
      silent,
    );
    expect(clean).toBe(false);
    expect(order).toEqual(['database']);
  });
});

describe('error scrubbing', () => {
  function queryError() {
    const cause = Object.assign(new Error("Duplicate entry 'hash-9f2c1d' for key 'sessions_refresh_token_hash_uq'"), {
      code: 'ER_DUP_ENTRY',
      errno: 1062,
      sql: "insert into sessions values ('$argon2id$v=19$m=19456$secret-hash')",
      sqlMessage: "Duplicate entry 'hash-9f2c1d' for key 'sessions_refresh_token_hash_uq'",
    });
    return Object.assign(
      new Error('Failed query: update broker_connections set credentials_enc = ?\nparams: v1:k1:abc:def:ghi', {
        cause,
      }),
      { query: 'update broker_connections set credentials_enc = ?', params: ['v1:k1:abc:def:ghi'] },
    );
  }

  it('keeps the error type, code and stack frames but no SQL text or bound values', () => {
    const lines: string[] = [];
    const log = pino(
      { ...loggerOptions({ level: 'info' }), transport: undefined },
      { write: (l: string) => lines.push(l) },
    );
    log.error({ err: queryError() }, 'unexpected procedure error');
    const text = lines.join('');
    for (const secret of ['v1:k1:abc', 'argon2id', 'hash-9f2c1d', 'credentials_enc = ?'])
      expect(text).not.toContain(secret);
    const logged = JSON.parse(text) as { err: { message: string; cause: { code: string; sqlMessage: string } } };
    expect(logged.err.message).toBe('database query failed');
    expect(logged.err.cause.code).toBe('ER_DUP_ENTRY');
    expect(logged.err.cause.sqlMessage).toContain("for key 'sessions_refresh_token_hash_uq'");
  });

  it('redacts secret-named fields at any depth, whatever they are called in the audit or the logs', () => {
    const lines: string[] = [];
    const log = pino(
      { ...loggerOptions({ level: 'info' }), transport: undefined },
      { write: (l: string) => lines.push(l) },
    );
    log.info({ connection: { credentialsEnc: 'v1:x:y', tradovate: { sec: 'api-sec-value', botToken: 'bot-123456' } } });
    expect(lines.join('')).not.toMatch(/v1:x:y|api-sec-value|bot-123456/);
  });
});
