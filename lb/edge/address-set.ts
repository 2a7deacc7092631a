// AddressSet: a list of CIDRs (IPv4 and IPv6) compiled into node's net.BlockList for matching.
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export type Family = 'ipv4' | 'ipv6';

/** "::ffff:1.2.3.4" -> "1.2.3.4": dual-stack sockets report IPv4 clients mapped; rules are written for IPv4. */
export function plainAddress(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** Parse "10.0.0.0/8", "2001:db8::/32" or a bare address; null when it is neither. */
export function parseCidr(text: string): { address: string; prefix: number; family: Family } | null {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const family: Family | null = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
  if (family === null) return null;
  const max = family === 'ipv4' ? 32 : 128;
  if (slash === -1) return { address, prefix: max, family };
  const prefixText = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  return prefix <= max ? { address, prefix, family } : null;
}

/** Why a CIDR string is refused, or null when it is fine (for config validation messages). */
export function cidrProblem(text: string): string | null {
  return parseCidr(text) === null ? `"${text}" is not an address or CIDR like 10.0.0.0/8 or 2001:db8::/32` : null;
}

export class AddressSet {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(cidrs: readonly string[]) {
    let n = 0;
    for (const text of cidrs) {
      const c = parseCidr(text);
      // Specs are validated before they reach a worker; an unparsable entry matches nothing.
      if (c === null) continue;
      this.list.addSubnet(c.address, c.prefix, c.family);
      n += 1;
    }
    this.size = n;
  }

  has(ip: string): boolean {
    if (this.size === 0) return false;
    const plain = plainAddress(ip);
    if (isIPv4(plain)) return this.list.check(plain, 'ipv4');
    if (isIPv6(plain)) return this.list.check(plain, 'ipv6');
    return false;
  }
}
