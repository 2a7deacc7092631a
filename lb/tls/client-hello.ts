// Parsing the SNI (and ALPN) out of a TLS ClientHello from the first bytes of a TCP stream, without
// terminating TLS: enough of RFC 8446 4.1.2 / RFC 6066 3 for passthrough routing, bounded in size.
import type { ClientHelloPeek } from './types.js';

const RECORD_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
/** A ClientHello larger than this is not waited for (post-quantum key shares are ~1.2 KiB). */
export const MAX_CLIENT_HELLO_BYTES = 16 * 1024;

/**
 * Reassemble the handshake bytes carried by the leading handshake records of `buf`; null when
 * the stream is not TLS, 'partial' while the first handshake message is incomplete.
 */
function handshakeBytes(buf: Buffer): Buffer | 'partial' | null {
  const parts: Buffer[] = [];
  let have = 0;
  let need = -1;
  let off = 0;
  while (need === -1 || have < need) {
    if (off + 5 > buf.length) return 'partial';
    if (buf[off] !== RECORD_HANDSHAKE || buf[off + 1] !== 3) return null;
    const len = buf.readUInt16BE(off + 3);
    if (len === 0 || len > 16_384) return null;
    if (off + 5 + len > buf.length) return 'partial';
    parts.push(buf.subarray(off + 5, off + 5 + len));
    have += len;
    off += 5 + len;
    if (need === -1 && have >= 4) {
      const head = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
      if (head[0] !== HANDSHAKE_CLIENT_HELLO) return null;
      need = head.readUIntBE(1, 3) + 4;
      if (need > MAX_CLIENT_HELLO_BYTES) return null;
    }
  }
  return Buffer.concat(parts).subarray(0, need);
}

/** Read a ClientHello's extensions; null when the message is malformed. */
function parseHello(msg: Buffer): { serverName?: string; alpn: string[] } | null {
  let off = 4 + 2 + 32; // header, legacy_version, random
  if (off + 1 > msg.length) return null;
  off += 1 + (msg[off] as number); // session id
  if (off + 2 > msg.length) return null;
  off += 2 + msg.readUInt16BE(off); // cipher suites
  if (off + 1 > msg.length) return null;
  off += 1 + (msg[off] as number); // compression methods
  const out: { serverName?: string; alpn: string[] } = { alpn: [] };
  if (off === msg.length) return out; // no extensions at all
  if (off + 2 > msg.length) return null;
  const end = off + 2 + msg.readUInt16BE(off);
  if (end > msg.length) return null;
  off += 2;
  while (off + 4 <= end) {
    const type = msg.readUInt16BE(off);
    const len = msg.readUInt16BE(off + 2);
    const body = msg.subarray(off + 4, off + 4 + len);
    if (body.length !== len) return null;
    off += 4 + len;
    if (type === EXT_SERVER_NAME && body.length >= 5) {
      const listEnd = Math.min(body.length, 2 + body.readUInt16BE(0));
      let p = 2;
      while (p + 3 <= listEnd) {
        const nameType = body[p] as number;
        const nameLen = body.readUInt16BE(p + 1);
        if (p + 3 + nameLen > listEnd) return null;
        if (nameType === 0) {
          out.serverName = body.toString('latin1', p + 3, p + 3 + nameLen).toLowerCase();
          break;
        }
        p += 3 + nameLen;
      }
    } else if (type === EXT_ALPN && body.length >= 2) {
      let p = 2;
      while (p < body.length) {
        const l = body[p] as number;
        out.alpn.push(body.toString('latin1', p + 1, p + 1 + l));
        p += 1 + l;
      }
    }
  }
  return out;
}

/** What the bytes read so far say: wait for more, not TLS, or the hello's SNI and ALPN. */
export function peekClientHello(buf: Buffer): ClientHelloPeek {
  const hs = handshakeBytes(buf);
  if (hs === null) return { kind: 'not-tls' };
  if (hs === 'partial') return buf.length >= MAX_CLIENT_HELLO_BYTES + 5 ? { kind: 'not-tls' } : { kind: 'partial' };
  const hello = parseHello(hs);
  if (hello === null) return { kind: 'not-tls' };
  return hello.serverName === undefined ? { kind: 'hello', alpn: hello.alpn } : { kind: 'hello', serverName: hello.serverName, alpn: hello.alpn };
}
