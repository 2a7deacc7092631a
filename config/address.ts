// host:port parsing for bind and backend addresses, including bracketed IPv6 ([::1]:80).
import type { HostPort } from '../lb/types.js';

export const ADDRESS_PATTERN = '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+|\\*):[0-9]{1,5}$';

export function parseAddress(text: string): HostPort {
  const idx = text.lastIndexOf(':');
  let host = text.slice(0, idx);
  const port = Number(text.slice(idx + 1));
  if (idx <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`"${text}" is not host:port with a port 0..65535`);
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '*') host = '0.0.0.0';
  return { host, port };
}

export function formatAddress(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
