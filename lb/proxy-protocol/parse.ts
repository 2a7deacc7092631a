// Parsing a PROXY protocol v1 or v2 header from the first bytes of a connection.
import { isIPv4, isIPv6 } from 'node:net';
import type { ParseResult, ProxyAddresses } from './types.js';

export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ');
/** v1: "the maximum line lengths the receiver must support including the CRLF are 107". */
export const V1_MAX = 107;
/** v2: 16 fixed bytes plus addresses and TLVs; we accept up to this much. */
const V2_MAX_PAYLOAD = 2048;

function startsWithPartial(buf: Buffer, prefix: Buffer): boolean {
  const n = Math.min(buf.length, prefix.length);
  return buf.subarray(0, n).equals(prefix.subarray(0, n));
}

function port(text: string): number | null {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) return null;
  const n = Number(text);
  return n <= 65535 ? n : null;
}

function parseV1(buf: Buffer): ParseResult {
  const end = buf.indexOf('\r\n');
  if (end === -1) return buf.length >= V1_MAX ? { kind: 'invalid', reason: 'v1 header has no CRLF within 107 bytes' } : { kind: 'more' };
  if (end + 2 > V1_MAX) return { kind: 'invalid', reason: 'v1 header longer than 107 bytes' };
  const parts = buf.subarray(0, end).toString('latin1').split(' ');
  if (parts[1] === 'UNKNOWN') return { kind: 'ok', header: { version: 1, addresses: null }, length: end + 2 };
  if (parts.length !== 6) return { kind: 'invalid', reason: 'v1 header needs 6 fields' };
  const [, proto, src, dst, sp, dp] = parts as [string, string, string, string, string, string];
  const family = proto === 'TCP4' ? 'tcp4' : proto === 'TCP6' ? 'tcp6' : null;
  if (family === null) return { kind: 'invalid', reason: `v1 protocol "${proto}" is not TCP4, TCP6 or UNKNOWN` };
  const valid = family === 'tcp4' ? isIPv4 : isIPv6;
  if (!valid(src) || !valid(dst)) return { kind: 'invalid', reason: `v1 addresses are not ${proto}` };
  const sourcePort = port(sp);
  const destPort = port(dp);
  if (sourcePort === null || destPort === null) return { kind: 'invalid', reason: 'v1 ports must be 0..65535' };
  return { kind: 'ok', header: { version: 1, addresses: { family, sourceAddress: src, sourcePort, destAddress: dst, destPort } }, length: end + 2 };
}

function ipv6(buf: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(i).toString(16));
  // Canonical compressed text, so addresses compare equal to what node reports for sockets.
  return compressV6(groups);
}

function compressV6(groups: string[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart === -1) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

function parseV2(buf: Buffer): ParseResult {
  if (buf.length < 16) return { kind: 'more' };
  const verCmd = buf[12] ?? 0;
  if (verCmd >> 4 !== 2) return { kind: 'invalid', reason: `v2 version ${verCmd >> 4} is not 2` };
  const cmd = verCmd & 0x0f;
  if (cmd !== 0 && cmd !== 1) return { kind: 'invalid', reason: `v2 command ${cmd} is not LOCAL or PROXY` };
  const famProto = buf[13] ?? 0;
  const len = buf.readUInt16BE(14);
  if (len > V2_MAX_PAYLOAD) return { kind: 'invalid', reason: `v2 header of ${len} bytes is too long` };
  if (buf.length < 16 + len) return { kind: 'more' };
  const total = 16 + len;
  // LOCAL: the balancer's own connection (health checks); addresses are ignored.
  if (cmd === 0) return { kind: 'ok', header: { version: 2, addresses: null }, length: total };
  const body = buf.subarray(16, total);
  let addresses: ProxyAddresses | null;
  switch (famProto) {
    case 0x11: // TCP over IPv4
      if (len < 12) return { kind: 'invalid', reason: 'v2 IPv4 block is short' };
      addresses = {
        family: 'tcp4',
        sourceAddress: [...body.subarray(0, 4)].join('.'),
        destAddress: [...body.subarray(4, 8)].join('.'),
        sourcePort: body.readUInt16BE(8),
        destPort: body.readUInt16BE(10),
      };
      break;
    case 0x21: // TCP over IPv6
      if (len < 36) return { kind: 'invalid', reason: 'v2 IPv6 block is short' };
      addresses = {
        family: 'tcp6',
        sourceAddress: ipv6(body.subarray(0, 16)),
        destAddress: ipv6(body.subarray(16, 32)),
        sourcePort: body.readUInt16BE(32),
        destPort: body.readUInt16BE(34),
      };
      break;
    case 0x00: // UNSPEC
      addresses = null;
      break;
    default:
      return { kind: 'invalid', reason: `v2 family/protocol 0x${famProto.toString(16)} is not TCP over IPv4/IPv6` };
  }
  return { kind: 'ok', header: { version: 2, addresses }, length: total };
}

/** Parse the header at the start of `buf`; `more` when more bytes are needed to decide. */
export function parseProxyHeader(buf: Buffer): ParseResult {
  if (buf.length === 0) return { kind: 'more' };
  if (startsWithPartial(buf, V2_SIGNATURE)) return buf.length < V2_SIGNATURE.length ? { kind: 'more' } : parseV2(buf);
  if (startsWithPartial(buf, V1_PREFIX)) return buf.length < V1_PREFIX.length ? { kind: 'more' } : parseV1(buf);
  return { kind: 'invalid', reason: 'connection does not start with a PROXY protocol header' };
}
