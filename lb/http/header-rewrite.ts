// Header rewriting at the proxy hop: hop-by-hop stripping both ways and the X-Forwarded-* set.
import type { FlatHeaders } from './types.js';

/** RFC 9110 7.6.1 connection-specific fields, plus the legacy Proxy-Connection. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Headers the balancer sets itself on the way up. Expect is answered by node's server
 * (100 Continue) before the request reaches us, and undici refuses to send it.
 */
const REPLACED_UPSTREAM = new Set(['x-forwarded-proto', 'x-forwarded-host', 'x-real-ip', 'expect']);

/** Names listed in Connection headers, lowercased; they are hop-by-hop for this hop only. */
function connectionTokens(names: readonly string[], values: readonly string[]): Set<string> {
  const tokens = new Set<string>();
  names.forEach((name, i) => {
    if (name !== 'connection') return;
    for (const token of (values[i] ?? '').split(',')) {
      const t = token.trim().toLowerCase();
      if (t !== '') tokens.add(t);
    }
  });
  return tokens;
}

function split(raw: readonly (string | Buffer)[]): { names: string[]; keys: string[]; values: string[] } {
  const names: string[] = [];
  const keys: string[] = [];
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = String(raw[i]);
    names.push(name);
    keys.push(name.toLowerCase());
    // Header bytes are latin1 on the wire; Buffer#toString defaults to utf8.
    const v = raw[i + 1];
    values.push(typeof v === 'string' ? v : (v?.toString('latin1') ?? ''));
  }
  return { names, keys, values };
}

export interface ForwardedFor {
  /** Client address as the balancer saw it. */
  clientIp: string;
  /** "https" on TLS listeners, else "http". */
  proto: string;
}

/**
 * Request headers for the backend from node's rawHeaders: case and order kept, Host kept as
 * the client sent it. For an upgrade the Upgrade header survives and Connection is "Upgrade".
 */
export function upstreamRequestHeaders(raw: readonly string[], fwd: ForwardedFor, upgrade: boolean): FlatHeaders {
  const { names, keys, values } = split(raw);
  const drop = connectionTokens(keys, values);
  const out: FlatHeaders = [];
  const xff: string[] = [];
  let host: string | undefined;
  keys.forEach((key, i) => {
    const value = values[i] ?? '';
    if (key === 'host' && host === undefined) host = value;
    if (key === 'x-forwarded-for') {
      xff.push(value);
      return;
    }
    if (upgrade && key === 'upgrade') {
      out.push(names[i] ?? key, value);
      return;
    }
    if (HOP_BY_HOP.has(key) || drop.has(key) || REPLACED_UPSTREAM.has(key)) return;
    out.push(names[i] ?? key, value);
  });
  if (upgrade) out.push('Connection', 'Upgrade');
  // gRPC needs "TE: trailers" end to end (nginx's grpc_pass sets it too); no other TE value passes.
  const te = keys.indexOf('te');
  const grpc = /^application\/grpc/i.test(values[keys.indexOf('content-type')] ?? '');
  if (grpc && te !== -1 && /(^|,)\s*trailers\s*(,|$)/i.test(values[te] ?? '')) out.push('te', 'trailers');
  xff.push(fwd.clientIp);
  out.push('X-Forwarded-For', xff.join(', '));
  out.push('X-Forwarded-Proto', fwd.proto);
  if (host !== undefined) out.push('X-Forwarded-Host', host);
  out.push('X-Real-IP', fwd.clientIp);
  return out;
}

/** Response headers for the client from the backend's raw headers, hop-by-hop removed. */
export function downstreamResponseHeaders(raw: readonly (string | Buffer)[]): FlatHeaders {
  const { names, keys, values } = split(raw);
  const drop = connectionTokens(keys, values);
  const out: FlatHeaders = [];
  keys.forEach((key, i) => {
    if (HOP_BY_HOP.has(key) || drop.has(key)) return;
    out.push(names[i] ?? key, values[i] ?? '');
  });
  return out;
}

/** "::ffff:127.0.0.1" -> "127.0.0.1"; what operators expect to see in X-Forwarded-For. */
export function clientAddress(remote: string | undefined): string {
  if (remote === undefined) return '';
  return remote.startsWith('::ffff:') && remote.includes('.') ? remote.slice(7) : remote;
}

/**
 * An HTTP/2 request's raw headers as an HTTP/1.1 backend needs them: pseudo-headers dropped,
 * :authority as Host (unless a Host came too), Cookie fields joined with "; " (RFC 9113 8.2.3).
 */
export function h1RawHeadersFromH2(raw: readonly string[]): string[] {
  const out: string[] = [];
  const cookies: string[] = [];
  let authority: string | undefined;
  let host = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? '';
    const value = raw[i + 1] ?? '';
    if (name.startsWith(':')) {
      if (name === ':authority') authority = value;
      continue;
    }
    const key = name.toLowerCase();
    if (key === 'cookie') {
      cookies.push(value);
      continue;
    }
    if (key === 'host') host = true;
    out.push(name, value);
  }
  if (!host && authority !== undefined) out.unshift('host', authority);
  if (cookies.length > 0) out.push('cookie', cookies.join('; '));
  return out;
}
