import { describe, expect, it } from 'vitest';
import {
  checkOutboundUrl,
  classifyAddress,
  OutboundUrlError,
  type OutboundUrlProblem,
  type ResolveAll,
} from '../../server/lib/public-address.ts';

describe('classifyAddress', () => {
  it.each([
    ['1.1.1.1', 'public'],
    ['8.8.8.8', 'public'],
    ['100.63.255.255', 'public'],
    ['172.32.0.1', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['224.0.0.251', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['192.0.2.10', 'documentation'],
    ['203.0.113.7', 'documentation'],
  ])('IPv4 %s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });

  it.each([
    ['2606:4700:4700::1111', 'public'],
    ['2a00:1450:4001:82b::200e', 'public'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['2001::1', 'reserved'],
    ['100::1', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:1.1.1.1', 'public'],
    ['64:ff9b::192.168.0.1', 'private'],
    ['2002:c0a8:0101::1', 'private'],
    ['2002:0101:0101::1', 'public'],
  ])('IPv6 %s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });

  it('treats anything that is not an address as reserved', () => {
    expect(classifyAddress('example.com')).toBe('reserved');
    expect(classifyAddress('1.2.3')).toBe('reserved');
    expect(classifyAddress('1::2::3')).toBe('reserved');
  });
});

async function problemOf(url: string, resolve?: ResolveAll, allowPrivate = false): Promise<OutboundUrlProblem> {
  try {
    await checkOutboundUrl(url, { allowPrivate, resolve });
  } catch (error) {
    if (error instanceof OutboundUrlError) return error.problem;
    throw error;
  }
  throw new Error(`expected ${url} to be refused`);
}

const dns =
  (table: Record<string, string[]>): ResolveAll =>
  async (host) =>
    table[host] ?? [];

describe('checkOutboundUrl', () => {
  it('accepts https URLs whose host is or resolves to public addresses only', async () => {
    const resolve = dns({ 'hooks.example.net': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'] });
    const checked = await checkOutboundUrl('https://hooks.example.net/x?y=1', { allowPrivate: false, resolve });
    expect(checked.addresses).toHaveLength(2);
    expect((await checkOutboundUrl('https://1.1.1.1/hook', { allowPrivate: false })).addresses).toEqual(['1.1.1.1']);
  });

  it('refuses other schemes and unparsable URLs', async () => {
    expect(await problemOf('http://1.1.1.1/hook')).toBe('unsupported-scheme');
    expect(await problemOf('ftp://1.1.1.1/hook')).toBe('unsupported-scheme');
    expect(await problemOf('file:///etc/passwd')).toBe('unsupported-scheme');
    expect(await problemOf('not a url')).toBe('invalid-url');
  });

  it('refuses literal non-public addresses in every spelling', async () => {
    for (const url of [
      'https://127.0.0.1/',
      'https://0x7f.0.0.1/',
      'https://2130706433/',
      'https://[::1]/',
      'https://[::ffff:127.0.0.1]/',
      'https://169.254.169.254/latest/meta-data/',
      'https://10.0.0.5:8443/',
      'https://[fd00::1]/',
      'https://0.0.0.0/',
    ]) {
      expect(await problemOf(url), url).toBe('non-public-address');
    }
  });

  it('refuses a host when any of its addresses is not public, and one that does not resolve', async () => {
    const resolve = dns({ 'mixed.example.net': ['1.1.1.1', '10.0.0.1'], 'rebind.example.net': ['::ffff:192.168.0.1'] });
    expect(await problemOf('https://mixed.example.net/', resolve)).toBe('non-public-address');
    expect(await problemOf('https://rebind.example.net/', resolve)).toBe('non-public-address');
    expect(await problemOf('https://nowhere.example.net/', resolve)).toBe('unresolvable-host');
    const failing: ResolveAll = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    expect(await problemOf('https://nowhere.example.net/', failing)).toBe('unresolvable-host');
  });

  it('resolves localhost through the system resolver and refuses it', async () => {
    expect(await problemOf('https://localhost/hook')).toBe('non-public-address');
  });

  it('names the problem in the message', async () => {
    await expect(checkOutboundUrl('https://[::1]/', { allowPrivate: false })).rejects.toThrow(
      'Target host "::1" is a loopback address; only public internet addresses are allowed',
    );
  });

  it('accepts http and private addresses when private targets are allowed', async () => {
    const checked = await checkOutboundUrl('http://127.0.0.1:9000/hook', { allowPrivate: true });
    expect(checked.addresses).toEqual(['127.0.0.1']);
    expect(await problemOf('ftp://127.0.0.1/', undefined, true)).toBe('unsupported-scheme');
  });
});
