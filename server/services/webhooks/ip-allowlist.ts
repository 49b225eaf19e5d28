/**
 * A strategy's allowed source addresses (strategies.allowed_ips) as a matcher, built once per cached strategy:
 * entries are IPv4/IPv6 addresses, CIDRs, or the preset `tradingview` (TradingView's published egress addresses).
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { TRADINGVIEW_IPS } from '#shared/schemas/strategies.ts';

/** True when a request from `ip` may use the webhook. */
export type IpMatcher = (ip: string | undefined) => boolean;

const anyAddress: IpMatcher = () => true;

/**
 * null or an empty list allows any address. An entry that is not an address, a CIDR or a known preset allows
 * nothing (the schema refuses such entries; a row edited by hand fails closed).
 */
export function compileAllowedIps(entries: readonly string[] | null | undefined): IpMatcher {
  if (!entries || entries.length === 0) return anyAddress;
  const list = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (entry === 'tradingview') {
      for (const address of TRADINGVIEW_IPS) list.addAddress(address, 'ipv4');
      continue;
    }
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    if (!family || extra !== undefined) continue;
    if (prefix === undefined) {
      list.addAddress(address, family);
      continue;
    }
    const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
    if (bits >= 0 && bits <= (family === 'ipv4' ? 32 : 128)) list.addSubnet(address, bits, family);
  }
  return (ip) => {
    const address = ip === undefined ? undefined : clientAddress(ip);
    if (!address) return false;
    return list.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
  };
}

/**
 * The address a rule is checked against: without a zone index (`fe80::1%eth0`), and an IPv4-mapped IPv6 address
 * (`::ffff:52.89.214.238`, what a dual-stack socket reports for an IPv4 client) as the IPv4 address it carries.
 */
function clientAddress(ip: string): string | undefined {
  const address = (ip.split('%', 1)[0] ?? '').toLowerCase();
  const mapped = /^(?:0{0,4}:){0,4}:?(?:0{0,4}:)?ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address)?.[1];
  if (mapped && isIPv4(mapped)) return mapped;
  return isIPv4(address) || isIPv6(address) ? address : undefined;
}
