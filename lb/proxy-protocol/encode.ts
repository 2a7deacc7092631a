// Writing a PROXY protocol v1 or v2 header naming a client, for backends that ask for one.
import { isIPv4, isIPv6 } from 'node:net';
import { V2_SIGNATURE } from './parse.js';

export interface Endpoints {
  sourceAddress: string;
  sourcePort: number;
  destAddress: string;
  destPort: number;
}

/** Both ends as one family: IPv4-mapped IPv6 becomes IPv4; a mixed pair is sent as IPv6. */
function unify(e: Endpoints): { family: 'tcp4' | 'tcp6'; src: string; dst: string } | null {
  const plain = (ip: string) => (ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip);
  const src = plain(e.sourceAddress);
  const dst = plain(e.destAddress);
  if (isIPv4(src) && isIPv4(dst)) return { family: 'tcp4', src, dst };
  const v6 = (ip: string) => (isIPv4(ip) ? `::ffff:${ip}` : ip);
  if (isIPv6(v6(src)) && isIPv6(v6(dst))) return { family: 'tcp6', src: v6(src), dst: v6(dst) };
  return null;
}

export function encodeV1(e: Endpoints): Buffer {
  const u = unify(e);
  if (u === null) return Buffer.from('PROXY UNKNOWN\r\n');
  return Buffer.from(`PROXY ${u.family.toUpperCase()} ${u.src} ${u.dst} ${e.sourcePort} ${e.destPort}\r\n`, 'latin1');
}

function v6Bytes(ip: string): Buffer {
  const out = Buffer.alloc(16);
  let text = ip;
  // A trailing dotted quad (::ffff:1.2.3.4) is two groups.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const b = quad[1]!.split('.').map(Number);
    text = `${text.slice(0, -quad[1]!.length)}${(((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16)}:${(((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16)}`;
  }
  const [head = '', tail] = text.split('::') as [string, string?];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export function encodeV2(e: Endpoints): Buffer {
  const u = unify(e);
  const head = Buffer.alloc(16);
  V2_SIGNATURE.copy(head, 0);
  head[12] = 0x21; // version 2, PROXY
  if (u === null) {
    head[13] = 0x00;
    head.writeUInt16BE(0, 14);
    return head;
  }
  let body: Buffer;
  if (u.family === 'tcp4') {
    head[13] = 0x11;
    body = Buffer.alloc(12);
    Buffer.from(u.src.split('.').map(Number)).copy(body, 0);
    Buffer.from(u.dst.split('.').map(Number)).copy(body, 4);
    body.writeUInt16BE(e.sourcePort, 8);
    body.writeUInt16BE(e.destPort, 10);
  } else {
    head[13] = 0x21;
    body = Buffer.alloc(36);
    v6Bytes(u.src).copy(body, 0);
    v6Bytes(u.dst).copy(body, 16);
    body.writeUInt16BE(e.sourcePort, 32);
    body.writeUInt16BE(e.destPort, 34);
  }
  head.writeUInt16BE(body.length, 14);
  return Buffer.concat([head, body]);
}

export function encodeProxyHeader(version: 'v1' | 'v2', e: Endpoints): Buffer {
  return version === 'v1' ? encodeV1(e) : encodeV2(e);
}
