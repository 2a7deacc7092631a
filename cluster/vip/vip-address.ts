// The VIP's address as the drivers use it: an IPv4 host address and its prefix length.
import { isIPv4 } from 'node:net';
import { VipError } from './errors.js';

export interface VipAddress {
  /** 198.18.0.100 */
  ip: string;
  /** 24 */
  prefix: number;
  /** 198.18.0.100/24, as `ip addr` takes it */
  cidr: string;
}

export function parseVipAddress(text: string): VipAddress {
  const slash = text.indexOf('/');
  const ip = slash === -1 ? text : text.slice(0, slash);
  const prefixText = slash === -1 ? '' : text.slice(slash + 1);
  const prefix = /^[0-9]{1,2}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!isIPv4(ip) || !(prefix >= 1 && prefix <= 32)) {
    throw new VipError('VIP_ERR_BAD_ADDRESS', `"${text}" is not an IPv4 address with a prefix length, e.g. 198.18.0.100/24`);
  }
  return { ip, prefix, cidr: `${ip}/${prefix}` };
}
