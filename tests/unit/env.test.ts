import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_KEYS, EnvError, parseEnv } from '../../server/lib/env.ts';

const KEY_A = Buffer.alloc(32, 1).toString('base64');
const KEY_B = Buffer.alloc(32, 2).toString('base64');

function problems(source: Record<string, string>): string[] {
  try {
    parseEnv(source);
  } catch (error) {
    if (error instanceof EnvError) return error.lines;
    throw error;
  }
  return [];
}

describe('env', () => {
  it('gives every variable a working default in development', () => {
    const env = parseEnv({ NODE_ENV: 'development' });
    expect(env.PORT).toBe(3000);
    expect(env.HOST).toBe('0.0.0.0');
    expect(env.DEDUP_WINDOW_S).toBe(10);
    expect(env.RECONCILE_INTERVAL_S).toBe(60);
    expect(env.ALPACA_PAPER_URL).toBe('https://paper-api.alpaca.markets');
    expect(env.ENCRYPTION_KEYS).toHaveLength(1);
  });

  it('reports one line per problem, naming the variable and hiding secrets', () => {
    const lines = problems({ PORT: 'abc', DATABASE_URL: 'postgres://x', JWT_SECRET: 'short', LOG_LEVEL: 'loud' });
    expect(lines).toHaveLength(4);
    expect(lines.find((l) => l.startsWith('PORT:'))).toContain('"abc"');
    expect(lines.find((l) => l.startsWith('DATABASE_URL:'))).toContain('hidden');
    expect(lines.find((l) => l.startsWith('JWT_SECRET:'))).not.toContain('short');
    expect(lines.find((l) => l.startsWith('LOG_LEVEL:'))).toBeDefined();
  });

  it('requires real secrets in production, which is what an unset NODE_ENV means', () => {
    for (const source of [{ NODE_ENV: 'production' }, {}] as Record<string, string>[]) {
      expect(
        problems(source)
          .map((l) => l.split(':')[0])
          .sort(),
      ).toEqual(['ENCRYPTION_KEYS', 'JWT_SECRET']);
    }
  });

  it('parses several encryption keys, the first one encrypting, and refuses bad ones', () => {
    const env = parseEnv({ NODE_ENV: 'test', ENCRYPTION_KEYS: `k2:${KEY_B}, k1:${KEY_A}` });
    expect(env.ENCRYPTION_KEYS.map((k) => k.kid)).toEqual(['k2', 'k1']);
    expect(problems({ ENCRYPTION_KEYS: 'k1:dG9vLXNob3J0' })[0]).toMatch(/^ENCRYPTION_KEYS: entry 1 .*32-bytes/);
    expect(problems({ ENCRYPTION_KEYS: `k1:${KEY_A},k1:${KEY_B}` })[0]).toContain('entry 2 repeats key id "k1"');
    // A raw key without its id is reported by position: the key itself never reaches the error line.
    const rawKey = problems({ ENCRYPTION_KEYS: KEY_A })[0] ?? '';
    expect(rawKey).not.toContain(KEY_A);
  });

  it('treats an empty value as unset and strips trailing slashes from base URLs', () => {
    const env = parseEnv({ NODE_ENV: 'test', PORT: '', PUBLIC_BASE_URL: 'https://fillpath.example/' });
    expect(env.PORT).toBe(3000);
    expect(env.PUBLIC_BASE_URL).toBe('https://fillpath.example');
  });

  it('parses CORS origins and trustProxy forms', () => {
    const env = parseEnv({
      NODE_ENV: 'test',
      CORS_ORIGINS: 'https://a.example, https://b.example',
      TRUST_PROXY: '10.0.0.0/8,127.0.0.1',
    });
    expect(env.CORS_ORIGINS).toEqual(['https://a.example', 'https://b.example']);
    expect(env.TRUST_PROXY).toEqual(['10.0.0.0/8', '127.0.0.1']);
    const twoHops = parseEnv({ NODE_ENV: 'test', TRUST_PROXY: '2' }).TRUST_PROXY as (
      address: string,
      hop: number,
    ) => boolean;
    expect([twoHops('10.0.0.1', 1), twoHops('10.0.0.1', 2)]).toEqual([true, false]);
    expect(parseEnv({ NODE_ENV: 'test', TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true);
  });
});

describe('.env.example', () => {
  it('lists exactly the variables the env module reads, each with a default that parses', () => {
    const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const entries = text
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => line.split('=', 2) as [string, string]);
    expect(entries.map(([key]) => key).sort()).toEqual([...ENV_KEYS].sort());
    expect(() => parseEnv(Object.fromEntries(entries))).not.toThrow();
  });
});
