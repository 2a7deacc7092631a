// Types of the response cache (lb/cache): stored entries, freshness decisions, and the tap an
// exchange feeds a backend response through.
import type { Coding } from '../http/compression.js';
import type { FlatHeaders } from '../http/types.js';

/** The X-Cache value: served from the cache, fetched (no entry), fetched or revalidated (stale entry), not cacheable. */
export type CacheResult = 'HIT' | 'MISS' | 'EXPIRED' | 'BYPASS';

/** One stored response (a variant of one request target). */
export interface CacheEntry {
  /** Full key: target key plus the values of the varied request headers. */
  key: string;
  /** Target key: host + origin-form target; coalescing and Vary bookkeeping use it. */
  target: string;
  /** Path and query of the request target, for prefix purges. */
  path: string;
  status: number;
  statusMessage: string;
  /** Backend headers as stored: hop-by-hop, Age and X-Cache removed. */
  headers: FlatHeaders;
  body: Buffer[];
  bodyBytes: number;
  /** Bytes counted against the memory bound (body, headers, bookkeeping). */
  size: number;
  /** Epoch ms the response (or its 304 refresh) was received. */
  storedAt: number;
  /** Age the backend (or a cache before it) reported, seconds. */
  initialAgeSec: number;
  /** Freshness lifetime, ms; 0 = revalidate on every use. */
  lifetimeMs: number;
  etag: string | undefined;
  lastModified: string | undefined;
  /** Compressed copies of the body for hits (encoded-body.ts), or the promise of one being made. */
  encoded?: Partial<Record<Coding, Buffer | Promise<Buffer>>>;
  /** Bytes of the finished compressed copies, counted in `size`. */
  encodedBytes?: number;
}

/** What cache-control.ts makes of a backend response. */
export type Storability =
  | { store: true; lifetimeMs: number; vary: string[] }
  | { store: false; reason: string };

/**
 * A backend response seen by whoever asked for it while the exchange streams it on. `head` may
 * add headers to `headers` in place; returning false means the tap answered the client itself
 * (a 304 that refreshed a stored entry) and the exchange discards the backend's body.
 */
export interface ResponseTap {
  head(status: number, statusMessage: string, headers: FlatHeaders): boolean;
  data(chunk: Buffer): void;
  end(): void;
  /** The exchange failed or the client left before the end; idempotent, a no-op after end. */
  abort(): void;
}
