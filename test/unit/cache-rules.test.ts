// The cache's rules without sockets: Cache-Control parsing, storability and freshness, Vary keys,
// conditional matching, the byte-bounded LRU, purges with generations, and purge delivery per worker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { freshnessLifetime, isFresh, notModified, parseCacheControl, storability, varyNames } from '../../lb/cache/cache-control.js';
import { CacheDirectory } from '../../lb/cache/directory.js';
import { encodedBody } from '../../lb/cache/encoded-body.js';
import { createCacheMetrics } from '../../lb/cache/metrics.js';
import { CacheStore, entrySize } from '../../lb/cache/store.js';
import type { CacheEntry } from '../../lb/cache/types.js';
import type { DataPlaneState, RouteSpec } from '../../lb/types.js';

const NOW = Date.UTC(2026, 0, 1);
const opts = { now: NOW, defaultTtlMs: 0, requestAuthorized: false };

test('Cache-Control parsing: names lowercased, quoted arguments, first occurrence wins', () => {
  const d = parseCacheControl('Public, MAX-AGE="30", s-maxage=10, max-age=99, no-cache');
  assert.equal(d.get('public'), true);
  assert.equal(d.get('max-age'), '30');
  assert.equal(d.get('s-maxage'), '10');
  assert.equal(d.get('no-cache'), true);
});

test('freshness: s-maxage over max-age over Expires - Date; no-cache is 0; invalid Expires is expired', () => {
  assert.equal(freshnessLifetime(['Cache-Control', 'max-age=60, s-maxage=5'], NOW, 0), 5000);
  assert.equal(freshnessLifetime(['Cache-Control', 'max-age=60'], NOW, 0), 60_000);
  const date = new Date(NOW).toUTCString();
  const expires = new Date(NOW + 120_000).toUTCString();
  assert.equal(freshnessLifetime(['Date', date, 'Expires', expires], NOW + 999_999, 0), 120_000);
  assert.equal(freshnessLifetime(['Expires', '0'], NOW, 7000), 0);
  assert.equal(freshnessLifetime(['Cache-Control', 'no-cache, max-age=60'], NOW, 0), 0);
  assert.equal(freshnessLifetime([], NOW, 7000), 7000, 'defaultTtl when the response says nothing');
});

test('storability table', () => {
  const cases: [number, string[], boolean, boolean][] = [
    [200, ['Cache-Control', 'max-age=60'], false, true],
    [200, ['Cache-Control', 'no-store, max-age=60'], false, false],
    [200, ['Cache-Control', 'private, max-age=60'], false, false],
    [200, ['Cache-Control', 'max-age=60', 'Set-Cookie', 'a=b'], false, false],
    [200, ['Cache-Control', 'max-age=60', 'Vary', '*'], false, false],
    [206, ['Cache-Control', 'max-age=60'], false, false],
    [500, ['Cache-Control', 'max-age=60'], false, false],
    [404, ['Cache-Control', 'max-age=60'], false, true],
    [200, [], false, false],
    [200, ['ETag', '"x"'], false, true],
    [200, ['Cache-Control', 'no-cache', 'Last-Modified', new Date(NOW).toUTCString()], false, true],
    [200, ['Cache-Control', 'max-age=60'], true, false],
    [200, ['Cache-Control', 'public, max-age=60'], true, true],
    [200, ['Cache-Control', 's-maxage=60'], true, true],
  ];
  for (const [status, headers, authorized, want] of cases) {
    const v = storability(status, headers, { ...opts, requestAuthorized: authorized });
    assert.equal(v.store, want, `${status} ${headers.join(' ')} authorized=${authorized}`);
  }
});

test('Vary names are lowercased, deduplicated and sorted; * stands alone', () => {
  assert.deepEqual(varyNames(['Vary', 'Accept-Language, accept-encoding', 'vary', 'Accept-Language']), ['accept-encoding', 'accept-language']);
  assert.deepEqual(varyNames(['Vary', 'Origin, *']), ['*']);
  assert.deepEqual(varyNames([]), []);
});

function entry(key: string, bodyBytes: number, extra: Partial<CacheEntry> = {}): CacheEntry {
  const e: CacheEntry = {
    key,
    target: key,
    path: key,
    status: 200,
    statusMessage: 'OK',
    headers: ['ETag', '"e1"'],
    body: [Buffer.alloc(bodyBytes)],
    bodyBytes,
    size: 0,
    storedAt: NOW,
    initialAgeSec: 0,
    lifetimeMs: 10_000,
    etag: '"e1"',
    lastModified: undefined,
    ...extra,
  };
  e.size = entrySize(e);
  return e;
}

test('freshness of an entry counts its initial Age; conditionals match weak ETags and dates', () => {
  const e = entry('/a', 10, { initialAgeSec: 5 });
  assert.equal(isFresh(e, NOW + 4000), true);
  assert.equal(isFresh(e, NOW + 5000), false);
  assert.equal(notModified(e, 'W/"e1", "zz"', undefined), true);
  assert.equal(notModified(e, '"zz"', undefined), false);
  const lm = entry('/b', 10, { etag: undefined, lastModified: new Date(NOW).toUTCString() });
  assert.equal(notModified(lm, undefined, new Date(NOW + 1000).toUTCString()), true);
  assert.equal(notModified(lm, undefined, new Date(NOW - 1000).toUTCString()), false);
});

test('LRU by bytes: bounded by bytes not entries, least recently used goes first, oversize refused', () => {
  let evicted = 0;
  const store = new CacheStore(3500, { evicted: (n) => (evicted += n), resized: () => undefined });
  const none = (): undefined => undefined;
  for (const k of ['/1', '/2', '/3']) assert.ok(store.put(entry(k, 800), []));
  assert.equal(store.count(), 3);
  store.lookup('/1', none);
  // Three 800-byte bodies plus bookkeeping fill most of 3500: a fourth evicts /2, the least recently used.
  store.put(entry('/4', 800), []);
  assert.equal(store.lookup('/2', none), undefined);
  assert.ok(store.lookup('/1', none) !== undefined);
  assert.equal(evicted, 1);
  // Many small entries fit where few large ones did: the bound is bytes.
  const small = new CacheStore(3500, { evicted: () => undefined, resized: () => undefined });
  for (let i = 0; i < 10; i++) small.put(entry(`/s${i}`, 10), []);
  assert.equal(small.count(), 10);
  assert.ok(small.bytes() <= 3500);
  assert.equal(store.put(entry('/huge', 5000), []), false);
});

test('Vary variants share a target; a changed Vary drops the old variants; purges bump the generation', () => {
  const store = new CacheStore(1_000_000, { evicted: () => undefined, resized: () => undefined });
  const en = (n: string): string | undefined => (n === 'accept-language' ? 'en' : undefined);
  const fr = (n: string): string | undefined => (n === 'accept-language' ? 'fr' : undefined);
  store.put({ ...entry(store.keyFor('/p', en, ['accept-language']), 10), target: '/p', path: '/p' }, ['accept-language']);
  store.put({ ...entry(store.keyFor('/p', fr, ['accept-language']), 10), target: '/p', path: '/p' }, ['accept-language']);
  assert.equal(store.count(), 2);
  assert.ok(store.lookup('/p', en) !== undefined);
  assert.equal(store.lookup('/p', () => 'de'), undefined);
  store.put({ ...entry('/p', 10), target: '/p', path: '/p' }, []);
  assert.equal(store.count(), 1, 'the new Vary replaced both variants');
  store.put({ ...entry('/img/1', 10) }, []);
  const g = store.generation();
  assert.equal(store.purge('/img/'), 1);
  assert.equal(store.generation(), g + 1);
  assert.equal(store.count(), 1);
});

test('coalescing bookkeeping: one fill per target, waiters released when it ends', async () => {
  const store = new CacheStore(1000, { evicted: () => undefined, resized: () => undefined });
  const end = store.startFill('/t');
  const fill = store.pendingFill('/t');
  assert.ok(fill !== undefined);
  let released = false;
  void fill.done.then(() => (released = true));
  await Promise.resolve();
  assert.equal(released, false);
  end();
  end();
  await fill.done;
  assert.equal(released, true);
  assert.equal(store.pendingFill('/t'), undefined);
});

test('CacheDirectory: a purge applies once per seq, a new worker skips old purges, a gap purges everything', () => {
  const registry = new Registry();
  const dir = new CacheDirectory(createCacheMetrics(registry), pino({ level: 'silent' }));
  const route: RouteSpec = { pathPrefix: '/', pool: 'p', name: 'site', cache: { maxBytes: 100_000, maxObjectBytes: 10_000, defaultTtlMs: 0, allowAuthorization: false, allowCookies: false } };
  const other: RouteSpec = { pathPrefix: '/b/', pool: 'p', cache: route.cache! };
  const state = (purges: DataPlaneState['cachePurges']): DataPlaneState => ({
    version: 1,
    pools: [],
    health: {},
    listeners: [{ name: 'web', mode: 'http', bind: { host: '127.0.0.1', port: 0 }, routes: [route, other], maxConns: 0, retries: 0, maxHeaderBytes: 16384, timeouts: { connectMs: 1, clientHeaderMs: 1, responseHeaderMs: 1, idleMs: 1 } }],
    ...(purges === undefined ? {} : { cachePurges: purges }),
  });
  const site = dir.store('web', route)!;
  const b = dir.store('web', other)!;
  dir.apply(state([{ seq: 1 }, { seq: 2 }]));
  site.put(entry('/x/1', 10), []);
  site.put(entry('/y/1', 10), []);
  b.put(entry('/b/1', 10), []);
  assert.equal(site.count() + b.count(), 3, 'purges from before the worker started removed nothing');
  dir.apply(state([{ seq: 1 }, { seq: 2 }, { seq: 3, route: 'site', prefix: '/x/' }]));
  assert.equal(site.count(), 1);
  assert.equal(b.count(), 1, 'another route is untouched');
  dir.apply(state([{ seq: 1 }, { seq: 2 }, { seq: 3, route: 'site', prefix: '/x/' }]));
  site.put(entry('/x/2', 10), []);
  dir.apply(state([{ seq: 3, route: 'site', prefix: '/x/' }]));
  assert.equal(site.count(), 2, 'seq 3 is not applied twice');
  // seqs 4..9 were trimmed from the state before this worker saw them.
  dir.apply(state([{ seq: 10, route: 'site', prefix: '/nothing/' }]));
  assert.equal(site.count() + b.count(), 0, 'a gap in the purge sequence purges everything');
  // The default route id is host + pathPrefix.
  b.put(entry('/b/2', 10), []);
  dir.apply(state([{ seq: 10 }, { seq: 11, route: '/b/' }]));
  assert.equal(b.count(), 0);
});

test('compressed copies of a stored body: made once per coding, shared by concurrent hits, counted in the entry size', async () => {
  const e = entry('/c', 0, { body: [Buffer.from('abc '.repeat(500))], bodyBytes: 2000 });
  const stored: number[] = [];
  const first = encodedBody(e, 'gzip', 5, (n) => stored.push(n));
  const second = encodedBody(e, 'gzip', 5, (n) => stored.push(n));
  assert.ok(first instanceof Promise && first === second, 'one encoding in flight, shared');
  const gz = await first;
  assert.equal(gunzipSync(gz).toString(), 'abc '.repeat(500));
  assert.equal(encodedBody(e, 'gzip', 5, (n) => stored.push(n)), gz, 'kept: the next hit gets the buffer itself');
  const br = await encodedBody(e, 'br', 5, (n) => stored.push(n));
  assert.equal(brotliDecompressSync(br).toString(), 'abc '.repeat(500));
  assert.deepEqual(stored, [gz.length, br.length]);
  assert.equal(entrySize({ ...e, encodedBytes: gz.length + br.length }) - entrySize(e), gz.length + br.length);
});
