// A cached route's request handling: decide BYPASS / HIT / MISS / EXPIRED, serve stored responses,
// coalesce concurrent misses for one target behind one fill, revalidate stale entries with
// conditional requests, and fill the store from a backend response while it streams to the client.
import { contentLength, planCompression } from '../http/compression.js';
import { writeBody, writeHead } from '../http/exchange.js';
import { applyPolicy, type ResponsePolicy } from '../http/header-policy.js';
import type { ClientRequest, ClientResponse, FlatHeaders } from '../http/types.js';
import type { CompressionSpec, RouteCacheSpec } from '../types.js';
import { ageSec, freshnessLifetime, headerValue, isFresh, notModified, parseCacheControl, storability } from './cache-control.js';
import type { CacheMetrics } from './metrics.js';
import { encodedBody } from './encoded-body.js';
import { entrySize, type CacheStore, type RequestHeader } from './store.js';
import type { CacheEntry, CacheResult, ResponseTap } from './types.js';

/** How long a miss waits for another request's fill before going to the backend itself (nginx proxy_cache_lock_timeout). */
export const COALESCE_WAIT_MS = 5000;

/** Client validators and range headers: a fill must fetch the whole representation. */
const CLIENT_CONDITIONALS = new Set(['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range']);
/** Kept from the backend's headers but computed by us on every reply. */
const NOT_STORED = new Set(['age', 'x-cache']);
/** What a 304 built from an entry carries (RFC 9110 15.4.5). */
const NOT_MODIFIED_HEADERS = new Set(['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'last-modified', 'age', 'x-cache']);
/** A 304's fields that do not update the stored response (they describe the 304 itself). */
const NOT_REFRESHED = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'content-range', 'x-cache']);

export interface CachedRoute {
  listener: string;
  route: string;
  spec: RouteCacheSpec;
  store: CacheStore;
  metrics: CacheMetrics;
  policy: ResponsePolicy | undefined;
  /** The listener's compression (enabled): hits are compressed for clients that accept it, as misses are. */
  compression?: CompressionSpec | undefined;
  now(): number;
}

/** Starts the trip to the backend with these request headers, feeding the response through `tap`. */
export type Forward = (headers: FlatHeaders, tap: ResponseTap) => void;

function requestHeader(req: ClientRequest): RequestHeader {
  return (name) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  };
}

function without(headers: FlatHeaders, names: ReadonlySet<string>): FlatHeaders {
  const out: FlatHeaders = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] ?? '';
    if (!names.has(name.toLowerCase())) out.push(name, headers[i + 1] ?? '');
  }
  return out;
}

/** A tap that only labels the response (bypass, HEAD, a coalesced miss that found nothing). */
function labelTap(label: CacheResult, onHead?: (status: number) => void): ResponseTap {
  return {
    head: (status, _message, headers) => {
      onHead?.(status);
      headers.push('X-Cache', label);
      return true;
    },
    data: () => undefined,
    end: () => undefined,
    abort: () => undefined,
  };
}

export class CacheFront {
  constructor(private readonly route: CachedRoute) {}

  /** `target` is host + origin-form request target; `path` the origin-form target (for purges). */
  handle(req: ClientRequest, res: ClientResponse, target: string, path: string, upstream: FlatHeaders, forward: Forward): void {
    const method = req.method ?? 'GET';
    const header = requestHeader(req);
    const { spec, store } = this.route;
    if (method !== 'GET' && method !== 'HEAD') {
      // RFC 9111 4.4: a successful unsafe request invalidates what is stored for its target.
      this.count('BYPASS');
      forward(upstream, labelTap('BYPASS', (status) => status < 400 && store.invalidateTarget(target)));
      return;
    }
    const bypass =
      (header('authorization') !== undefined && !spec.allowAuthorization) ||
      (header('cookie') !== undefined && !spec.allowCookies) ||
      header('range') !== undefined ||
      parseCacheControl(header('cache-control')).has('no-store');
    if (bypass) {
      this.count('BYPASS');
      forward(upstream, labelTap('BYPASS'));
      return;
    }
    const entry = store.lookup(target, header);
    if (entry !== undefined && isFresh(entry, this.route.now())) {
      this.count('HIT');
      this.serve(req, res, entry, 'HIT');
      return;
    }
    if (method === 'HEAD') {
      // A HEAD response has no body to store: pass it on.
      const label = entry === undefined ? 'MISS' : 'EXPIRED';
      this.count(label);
      forward(upstream, labelTap(label));
      return;
    }
    const pending = store.pendingFill(target);
    if (pending !== undefined) {
      this.route.metrics.coalescedTotal.inc({ listener: this.route.listener, route: this.route.route });
      this.afterFill(pending.done, req, res, target, upstream, forward);
      return;
    }
    this.fill(req, res, target, path, entry, upstream, forward);
  }

  private afterFill(done: Promise<void>, req: ClientRequest, res: ClientResponse, target: string, upstream: FlatHeaders, forward: Forward): void {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, COALESCE_WAIT_MS);
      void done.then(resolve);
    });
    void waited.then(() => {
      clearTimeout(timer);
      if (res.destroyed || res.writableEnded) return;
      const entry = this.route.store.lookup(target, requestHeader(req));
      if (entry !== undefined && isFresh(entry, this.route.now())) {
        this.count('HIT');
        this.serve(req, res, entry, 'HIT');
        return;
      }
      // The fill was not storable (or not for this variant): go to the backend alone.
      this.count('MISS');
      forward(without(upstream, CLIENT_CONDITIONALS), labelTap('MISS'));
    });
  }

  private fill(req: ClientRequest, res: ClientResponse, target: string, path: string, stale: CacheEntry | undefined, upstream: FlatHeaders, forward: Forward): void {
    const { store, spec } = this.route;
    const finish = store.startFill(target);
    const generation = store.generation();
    const header = requestHeader(req);
    const label: CacheResult = stale === undefined ? 'MISS' : 'EXPIRED';
    this.count(label);
    const headers = without(upstream, CLIENT_CONDITIONALS);
    const revalidate = stale !== undefined && (stale.etag !== undefined || stale.lastModified !== undefined);
    if (revalidate) {
      if (stale.etag !== undefined) headers.push('If-None-Match', stale.etag);
      if (stale.lastModified !== undefined) headers.push('If-Modified-Since', stale.lastModified);
    }
    let pending: CacheEntry | undefined;
    let vary: string[] = [];
    const drop = (): void => {
      pending = undefined;
      finish();
    };
    const tap: ResponseTap = {
      head: (status, statusMessage, response) => {
        const now = this.route.now();
        if (status === 304 && revalidate) {
          this.refresh(stale, response, now);
          finish();
          this.serve(req, res, stale, 'EXPIRED');
          return false;
        }
        const verdict = storability(status, response, { now, defaultTtlMs: spec.defaultTtlMs, requestAuthorized: header('authorization') !== undefined });
        const length = contentLength(response);
        if (!verdict.store || (length !== undefined && length > spec.maxObjectBytes)) {
          if (stale !== undefined) store.remove(stale.key);
          drop();
        } else {
          vary = verdict.vary;
          const stored = without(response, NOT_STORED);
          pending = {
            key: store.keyFor(target, header, vary),
            target,
            path,
            status,
            statusMessage,
            headers: stored,
            body: [],
            bodyBytes: 0,
            size: 0,
            storedAt: now,
            initialAgeSec: Number(headerValue(response, 'age') ?? '0') || 0,
            lifetimeMs: verdict.lifetimeMs,
            etag: headerValue(stored, 'etag'),
            lastModified: headerValue(stored, 'last-modified'),
          };
        }
        response.push('X-Cache', label);
        return true;
      },
      data: (chunk) => {
        if (pending === undefined) return;
        pending.bodyBytes += chunk.length;
        // Too large to keep: the client still gets it all, streamed; waiters go to the backend.
        if (pending.bodyBytes > spec.maxObjectBytes) drop();
        else pending.body.push(chunk);
      },
      end: () => {
        const entry = pending;
        if (entry !== undefined && store.generation() === generation) {
          entry.size = entrySize(entry);
          store.put(entry, vary);
        }
        drop();
      },
      abort: drop,
    };
    forward(headers, tap);
  }

  /** A 304 from the backend: its fields replace the stored ones and freshness starts over (RFC 9111 4.3.4). */
  private refresh(entry: CacheEntry, response: FlatHeaders, now: number): void {
    const updates = without(response, NOT_REFRESHED);
    const names = new Set<string>();
    for (let i = 0; i < updates.length; i += 2) names.add((updates[i] ?? '').toLowerCase());
    entry.headers = [...without(entry.headers, names), ...without(updates, NOT_STORED)];
    entry.storedAt = now;
    entry.initialAgeSec = Number(headerValue(response, 'age') ?? '0') || 0;
    entry.lifetimeMs = freshnessLifetime(entry.headers, now, this.route.spec.defaultTtlMs);
    entry.etag = headerValue(entry.headers, 'etag');
    entry.lastModified = headerValue(entry.headers, 'last-modified');
    this.route.store.resized(entry, entrySize(entry));
  }

  private serve(req: ClientRequest, res: ClientResponse, entry: CacheEntry, label: CacheResult): void {
    let headers: FlatHeaders = [...entry.headers, 'Age', String(ageSec(entry, this.route.now())), 'X-Cache', label];
    if (this.route.policy !== undefined) headers = applyPolicy(headers, this.route.policy);
    const header = requestHeader(req);
    if (entry.status === 200 && notModified(entry, header('if-none-match'), header('if-modified-since'))) {
      const kept: FlatHeaders = [];
      for (let i = 0; i + 1 < headers.length; i += 2) {
        if (NOT_MODIFIED_HEADERS.has((headers[i] ?? '').toLowerCase())) kept.push(headers[i] ?? '', headers[i + 1] ?? '');
      }
      writeHead(res, 304, undefined, kept);
      res.end();
      return;
    }
    const compression = this.route.compression;
    const coding =
      compression === undefined ? undefined : planCompression(compression, { method: req.method ?? 'GET', acceptEncoding: header('accept-encoding') }, entry.status, headers);
    if (coding === undefined || compression === undefined) {
      writeHead(res, entry.status, entry.statusMessage, headers);
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      for (const chunk of entry.body) writeBody(res, chunk);
      res.end();
      return;
    }
    const send = (body: Buffer): void => {
      if (res.destroyed || res.writableEnded) return;
      headers.push('Content-Length', String(body.length));
      writeHead(res, entry.status, entry.statusMessage, headers);
      res.end(body);
    };
    const body = encodedBody(entry, coding, compression.level, (bytes) => {
      entry.encodedBytes = (entry.encodedBytes ?? 0) + bytes;
      this.route.store.resized(entry, entrySize(entry));
    });
    if (body instanceof Promise) body.then(send, () => res.destroy());
    else send(body);
  }

  private count(result: CacheResult): void {
    this.route.metrics.requestsTotal.inc({ listener: this.route.listener, route: this.route.route, result: result.toLowerCase() });
  }
}
