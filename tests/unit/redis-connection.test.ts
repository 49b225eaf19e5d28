/**
 * REDIS_CLUSTER configuration: what a seed URL list becomes for ioredis's Cluster (nodes, credentials, TLS, each
 * role's options where Cluster reads them) and which REDIS_URL values start-up refuses.
 */
import { describe, expect, it } from 'vitest';
import { clusterOptions, clusterSeeds } from '../../server/jobs/connection.ts';
import { EnvError, parseEnv } from '../../server/lib/env.ts';

const producer = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2_000,
  enableAutoPipelining: true,
};
const worker = { maxRetriesPerRequest: null, enableReadyCheck: true };

describe('Redis Cluster connection options', () => {
  it('seeds from every listed node, IPv6 unbracketed, port 6379 when none is given', () => {
    expect(clusterSeeds('redis://10.0.0.1:7000, redis://[::1]:7001,rediss://cache.example')).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: '::1', port: 7001 },
      { host: 'cache.example', port: 6379 },
    ]);
  });

  it("carries the URL's credentials and TLS to every node, and keeps the producer failing fast", () => {
    const options = clusterOptions('rediss://app:p%40ss@cache.example:6380', producer);
    expect(options).toMatchObject({
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      redisOptions: { username: 'app', password: 'p@ss', tls: {}, maxRetriesPerRequest: 1, connectTimeout: 2_000 },
    });
    expect(options.redisOptions).not.toHaveProperty('enableOfflineQueue');
    expect(options.dnsLookup).toBeTypeOf('function');
  });

  it('gives workers unlimited retries per command on each node, as BullMQ requires of a blocking connection', () => {
    const options = clusterOptions('redis://127.0.0.1:7000', worker);
    expect(options.redisOptions).toEqual({ maxRetriesPerRequest: null });
    expect(options).toMatchObject({ enableReadyCheck: true });
    expect(options).not.toHaveProperty('dnsLookup');
    expect(options.redisOptions).not.toHaveProperty('tls');
  });

  it('refuses a database other than 0, which a cluster does not have', () => {
    expect(() => clusterOptions('redis://127.0.0.1:7000/2', worker)).toThrow(/only database 0/);
    expect(() => clusterOptions('redis://127.0.0.1:7000/0', worker)).not.toThrow();
  });
});

describe('REDIS_URL and REDIS_CLUSTER at start-up', () => {
  const problems = (source: Record<string, string>) => {
    try {
      parseEnv({ NODE_ENV: 'test', ...source });
      return [];
    } catch (error) {
      if (error instanceof EnvError) return error.lines;
      throw error;
    }
  };

  it('takes a list of seed nodes only with REDIS_CLUSTER', () => {
    const list = 'redis://10.0.0.1:7000,redis://10.0.0.2:7000';
    expect(problems({ REDIS_URL: list, REDIS_CLUSTER: 'true' })).toEqual([]);
    expect(problems({ REDIS_URL: list })).toEqual([expect.stringMatching(/^REDIS_URL: .*REDIS_CLUSTER=true/)]);
    expect(problems({ REDIS_URL: 'redis://10.0.0.1:7000,http://x', REDIS_CLUSTER: 'true' })).toHaveLength(1);
    expect(parseEnv({ NODE_ENV: 'test' }).REDIS_CLUSTER).toBe(false);
  });
});
