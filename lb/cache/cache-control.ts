// HTTP caching rules for a shared cache (RFC 9111): Cache-Control parsing, whether a response
// may be stored, its freshness lifetime, Vary, and conditional-request matching.
import type { FlatHeaders } from '../http/types.js';
import type { CacheEntry, Storability } from './types.js';

/** Statuses a cache may store (RFC 9110 15.1 "heuristically cacheable"); 206 is never stored here. */
const STORABLE_STATUS = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

export type Directives = Map<string, string | true>;

/** First value of a header in a flat list (case-insensitive), all values joined with ", " when repeated. */
export function headerValue(headers: FlatHeaders, name: string): string | undefined {
  let out: string | undefined;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if ((headers[i] ?? '').toLowerCase() !== name) continue;
    const v = headers[i + 1] ?? '';
    out = out === undefined ? v : `${out}, ${v}`;
  }
  return out;
}

/** Cache-Control directives, lowercased names; quoted arguments unquoted. */
export function parseCacheControl(value: string | undefined): Directives {
  const out: Directives = new Map();
  if (value === undefined) return out;
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name === '') continue;
    const arg = eq === -1 ? true : part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    if (!out.has(name)) out.set(name, arg);
  }
  return out;
}

function seconds(d: Directives, name: string): number | undefined {
  const v = d.get(name);
  if (typeof v !== 'string' || !/^[0-9]+$/.test(v)) return undefined;
  return Number(v);
}

function dateMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Lowercased header names a response varies on; ['*'] when it varies on everything. */
export function varyNames(headers: FlatHeaders): string[] {
  const v = headerValue(headers, 'vary');
  if (v === undefined) return [];
  const names = v.split(',').map((n) => n.trim().toLowerCase()).filter((n) => n !== '');
  return names.includes('*') ? ['*'] : [...new Set(names)].sort();
}

/**
 * Freshness lifetime in ms (RFC 9111 4.2.1): s-maxage, then max-age, then Expires - Date;
 * `defaultTtlMs` when the response says none of these. no-cache makes it 0 (revalidate every time).
 */
export function freshnessLifetime(headers: FlatHeaders, now: number, defaultTtlMs: number): number {
  const cc = parseCacheControl(headerValue(headers, 'cache-control'));
  if (cc.has('no-cache')) return 0;
  const sMax = seconds(cc, 's-maxage');
  if (sMax !== undefined) return sMax * 1000;
  const max = seconds(cc, 'max-age');
  if (max !== undefined) return max * 1000;
  const expiresText = headerValue(headers, 'expires');
  if (expiresText !== undefined) {
    // An invalid Expires (e.g. "0") means already expired (RFC 9111 5.3).
    const expires = dateMs(expiresText);
    if (expires === undefined) return 0;
    const date = dateMs(headerValue(headers, 'date')) ?? now;
    return Math.max(0, expires - date);
  }
  return defaultTtlMs;
}

/** Whether a shared cache may store this response to this request, and for how long. */
export function storability(
  status: number,
  headers: FlatHeaders,
  opts: { now: number; defaultTtlMs: number; requestAuthorized: boolean },
): Storability {
  if (!STORABLE_STATUS.has(status)) return { store: false, reason: `status ${status}` };
  const cc = parseCacheControl(headerValue(headers, 'cache-control'));
  if (cc.has('no-store')) return { store: false, reason: 'no-store' };
  if (cc.has('private')) return { store: false, reason: 'private' };
  // A response that sets a cookie is one client's: never hand it to another.
  if (headerValue(headers, 'set-cookie') !== undefined) return { store: false, reason: 'set-cookie' };
  if (opts.requestAuthorized && !cc.has('public') && !cc.has('s-maxage') && !cc.has('must-revalidate')) {
    return { store: false, reason: 'authorized request without public or s-maxage' };
  }
  const vary = varyNames(headers);
  if (vary[0] === '*') return { store: false, reason: 'vary *' };
  const lifetimeMs = freshnessLifetime(headers, opts.now, opts.defaultTtlMs);
  const validators = headerValue(headers, 'etag') !== undefined || headerValue(headers, 'last-modified') !== undefined;
  if (lifetimeMs <= 0 && !validators) return { store: false, reason: 'no freshness and no validator' };
  return { store: true, lifetimeMs, vary };
}

/** Current age of an entry in seconds (RFC 9111 4.2.3, simplified: the receipt time is ours). */
export function ageSec(entry: CacheEntry, now: number): number {
  return entry.initialAgeSec + Math.max(0, Math.floor((now - entry.storedAt) / 1000));
}

export function isFresh(entry: CacheEntry, now: number): boolean {
  return entry.initialAgeSec * 1000 + (now - entry.storedAt) < entry.lifetimeMs;
}

/** Weak comparison of entity tags (RFC 9110 8.8.3.2). */
function weakEqual(a: string, b: string): boolean {
  return a.replace(/^W\//, '') === b.replace(/^W\//, '');
}

/** Whether a client's If-None-Match / If-Modified-Since lets us answer 304 from this entry. */
export function notModified(entry: CacheEntry, ifNoneMatch: string | undefined, ifModifiedSince: string | undefined): boolean {
  if (ifNoneMatch !== undefined) {
    if (entry.etag === undefined) return false;
    const tags = ifNoneMatch.split(',').map((t) => t.trim());
    return tags.includes('*') || tags.some((t) => weakEqual(t, entry.etag ?? ''));
  }
  if (ifModifiedSince !== undefined && entry.lastModified !== undefined) {
    const since = dateMs(ifModifiedSince);
    const modified = dateMs(entry.lastModified);
    return since !== undefined && modified !== undefined && modified <= since;
  }
  return false;
}
