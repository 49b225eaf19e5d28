/**
 * SSRF guard for URLs users hand us to call (notification channels): the URL must be https and its host must be,
 * or resolve only to, public internet addresses. IPv6 is allow-listed (only global unicast 2000::/3 minus its
 * special blocks is public) and IPv4 is deny-listed with the IANA special-purpose ranges; addresses that embed an
 * IPv4 address (mapped, NAT64, 6to4) are judged by the embedded one.
 *
 * A check at save time does not stop DNS rebinding: whoever sends must check again and connect to the addresses
 * this returns.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'carrier-grade NAT'
  | 'multicast'
  | 'reserved'
  | 'documentation'
  | 'unique-local';

type Range = { bytes: number[]; bits: number; label: Exclude<AddressClass, 'public'> };

function range(cidr: string, label: Range['label']): Range {
  const [address = '', bits = ''] = cidr.split('/');
  const bytes = address.includes(':') ? ipv6Bytes(address) : ipv4Bytes(address);
  if (!bytes) throw new Error(`bad range ${cidr}`);
  return { bytes, bits: Number(bits), label };
}

const IPV4_RANGES: Range[] = [
  range('0.0.0.0/8', 'unspecified'),
  range('10.0.0.0/8', 'private'),
  range('100.64.0.0/10', 'carrier-grade NAT'),
  range('127.0.0.0/8', 'loopback'),
  range('169.254.0.0/16', 'link-local'),
  range('172.16.0.0/12', 'private'),
  range('192.0.0.0/24', 'reserved'),
  range('192.0.2.0/24', 'documentation'),
  range('192.88.99.0/24', 'reserved'),
  range('192.168.0.0/16', 'private'),
  range('198.18.0.0/15', 'reserved'),
  range('198.51.100.0/24', 'documentation'),
  range('203.0.113.0/24', 'documentation'),
  range('224.0.0.0/4', 'multicast'),
  range('240.0.0.0/4', 'reserved'),
];

// Checked in order; the first match wins. Anything outside 2000::/3 that no earlier entry names is reserved.
const IPV6_RANGES: Range[] = [
  range('::/128', 'unspecified'),
  range('::1/128', 'loopback'),
  range('fc00::/7', 'unique-local'),
  range('fe80::/10', 'link-local'),
  range('fec0::/10', 'private'),
  range('ff00::/8', 'multicast'),
  range('2001:db8::/32', 'documentation'),
  range('3fff::/20', 'documentation'),
  // IETF protocol assignments, Teredo among them.
  range('2001::/23', 'reserved'),
];

/** IPv6 prefixes whose low 32 bits (or bits 16..47 for 6to4) are an IPv4 address. */
const MAPPED = range('::ffff:0:0/96', 'reserved');
const NAT64 = range('64:ff9b::/96', 'reserved');
const SIX_TO_FOUR = range('2002::/16', 'reserved');
const GLOBAL_UNICAST = range('2000::/3', 'reserved');

function ipv4Bytes(address: string): number[] | null {
  const parts = address.split('.');
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255)) return null;
  return parts.map(Number);
}

function ipv6Bytes(address: string): number[] | null {
  let text = address.split('%')[0] ?? '';
  const v4Tail = text.match(/^(.*:)(\d+\.\d+\.\d+\.\d+)$/);
  if (v4Tail) {
    const v4 = ipv4Bytes(v4Tail[2] ?? '');
    if (!v4) return null;
    const [a = 0, b = 0, c = 0, d = 0] = v4;
    text = `${v4Tail[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...Array<string>(Math.max(missing, 0)).fill('0'), ...tail];
  if (!groups.every((group) => /^[0-9a-f]{1,4}$/i.test(group))) return null;
  return groups.flatMap((group) => {
    const value = Number.parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
}

function inRange(bytes: number[], candidate: Range): boolean {
  if (bytes.length !== candidate.bytes.length) return false;
  for (let bit = 0; bit < candidate.bits; bit += 8) {
    const width = Math.min(8, candidate.bits - bit);
    const mask = (0xff << (8 - width)) & 0xff;
    const index = bit / 8;
    if (((bytes[index] ?? 0) & mask) !== ((candidate.bytes[index] ?? 0) & mask)) return false;
  }
  return true;
}

function classifyIpv4(bytes: number[]): AddressClass {
  return IPV4_RANGES.find((candidate) => inRange(bytes, candidate))?.label ?? 'public';
}

function classifyIpv6(bytes: number[]): AddressClass {
  if (inRange(bytes, MAPPED) || inRange(bytes, NAT64)) return classifyIpv4(bytes.slice(12));
  if (inRange(bytes, SIX_TO_FOUR)) return classifyIpv4(bytes.slice(2, 6));
  const named = IPV6_RANGES.find((candidate) => inRange(bytes, candidate));
  if (named) return named.label;
  return inRange(bytes, GLOBAL_UNICAST) ? 'public' : 'reserved';
}

/** The class of a literal IP address; anything that is not a valid address counts as reserved. */
export function classifyAddress(address: string): AddressClass {
  const version = isIP(address.split('%')[0] ?? '');
  const bytes = version === 4 ? ipv4Bytes(address) : version === 6 ? ipv6Bytes(address) : null;
  if (!bytes) return 'reserved';
  return version === 4 ? classifyIpv4(bytes) : classifyIpv6(bytes);
}

export type OutboundUrlProblem = 'invalid-url' | 'unsupported-scheme' | 'unresolvable-host' | 'non-public-address';

export class OutboundUrlError extends Error {
  readonly problem: OutboundUrlProblem;
  constructor(problem: OutboundUrlProblem, message: string) {
    super(message);
    this.problem = problem;
  }
}

/** Every address a host name resolves to. */
export type ResolveAll = (host: string) => Promise<string[]>;

const LOOKUP_TIMEOUT_MS = 5_000;

const systemResolve: ResolveAll = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

async function resolveWithin(resolve: ResolveAll, host: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('lookup timed out')), LOOKUP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([resolve(host), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface OutboundUrlOptions {
  /** Accept http:// and non-public addresses (ALLOW_PRIVATE_NOTIFY_TARGETS). */
  allowPrivate: boolean;
  resolve?: ResolveAll;
}

/**
 * Checks a URL we are asked to call later. Resolves to the parsed URL and the addresses its host stands for;
 * throws OutboundUrlError naming the problem otherwise.
 */
export async function checkOutboundUrl(
  raw: string,
  options: OutboundUrlOptions,
): Promise<{ url: URL; addresses: string[] }> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OutboundUrlError('invalid-url', 'Target URL is not a valid URL');
  }
  const allowedSchemes = options.allowPrivate ? ['https:', 'http:'] : ['https:'];
  if (!allowedSchemes.includes(url.protocol)) {
    throw new OutboundUrlError('unsupported-scheme', 'Target URL must use https');
  }
  // WHATWG URL parsing has already turned 0x7f.1 or 2130706433 into 127.0.0.1; IPv6 comes bracketed.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new OutboundUrlError('invalid-url', 'Target URL has no host');

  let addresses: string[];
  if (isIP(host)) {
    addresses = [host];
  } else {
    try {
      addresses = await resolveWithin(options.resolve ?? systemResolve, host);
    } catch {
      addresses = [];
    }
    if (addresses.length === 0) {
      throw new OutboundUrlError('unresolvable-host', `Target host "${host}" does not resolve`);
    }
  }
  if (!options.allowPrivate) {
    for (const address of addresses) {
      const kind = classifyAddress(address);
      if (kind === 'public') continue;
      const described = `${kind === 'unspecified' ? 'an' : 'a'} ${kind} address`;
      const what = isIP(host) ? `is ${described}` : `resolves to ${described}`;
      throw new OutboundUrlError(
        'non-public-address',
        `Target host "${host}" ${what}; only public internet addresses are allowed`,
      );
    }
  }
  return { url, addresses };
}
