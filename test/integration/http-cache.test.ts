// Response caching through a real node with real worker processes: hit/miss, Cache-Control,
// Vary, revalidation (304 refreshes), byte-bounded LRU eviction, bypass rules, coalescing, a body
// too large to store, and purges reaching every worker.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { get, inParallel } from '../support/http-client.js';
import { startTestNode, type TestNode } from '../support/in-process-node.js';
import { startScriptedOrigin, type ScriptedOrigin, type ScriptedReply, type SeenRequest } from '../support/scripted-origin.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function origin(script: (req: SeenRequest, n: number) => ScriptedReply): Promise<ScriptedOrigin> {
  const o = await startScriptedOrigin(script);
  cleanups.push(() => o.close());
  return o;
}

async function cachedNode(o: ScriptedOrigin, cache: Record<string, unknown> = {}, workers = 1): Promise<TestNode> {
  const n = await startTestNode(
    {
      pools: [{ name: 'web', backends: [{ name: 'o1', address: o.address }] }],
      listeners: [{ name: 'web', mode: 'http', bind: '127.0.0.1:0', routes: [{ pathPrefix: '/', pool: 'web', name: 'site', cache }] }],
    },
    { workers },
  );
  cleanups.push(() => n.stop());
  return n;
}

async function metricSum(n: TestNode, name: string, labels: Record<string, string> = {}): Promise<number> {
  const registry = await n.node.supervisor?.metrics();
  const metrics = (await registry?.getMetricsAsJSON()) ?? [];
  const m = metrics.find((x) => x.name === name);
  let sum = 0;
  for (const v of m?.values ?? []) {
    if (Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)) sum += v.value;
  }
  return sum;
}

test('max-age: MISS then HIT with Age, one backend request; no-store, private and Set-Cookie are never served from the cache', async () => {
  const o = await origin((req) => {
    switch (new URL(req.url, 'http://x').pathname) {
      case '/fresh':
        return { headers: { 'cache-control': 'max-age=60' }, body: 'fresh body' };
      case '/no-store':
        return { headers: { 'cache-control': 'no-store, max-age=60' }, body: `no-store ${Math.random()}` };
      case '/private':
        return { headers: { 'cache-control': 'private, max-age=60' }, body: `private ${String(req.headers['x-user'])}` };
      case '/cookie':
        return { headers: { 'cache-control': 'max-age=60', 'set-cookie': `sid=${String(req.headers['x-user'])}` }, body: `cookie ${String(req.headers['x-user'])}` };
      case '/expires':
        return { headers: { expires: new Date(Date.now() + 60_000).toUTCString() }, body: 'expires' };
      default:
        return { status: 404, body: 'none' };
    }
  });
  const n = await cachedNode(o);
  const port = n.port('web');
  const first = await get(port, '/fresh');
  const second = await get(port, '/fresh');
  assert.equal(first.headers['x-cache'], 'MISS');
  assert.equal(second.headers['x-cache'], 'HIT');
  assert.equal(second.body, 'fresh body');
  assert.ok(second.headers['age'] !== undefined, 'a hit carries Age');
  assert.equal(o.count('/fresh'), 1);

  assert.equal((await get(port, '/expires')).headers['x-cache'], 'MISS');
  assert.equal((await get(port, '/expires')).headers['x-cache'], 'HIT', 'Expires alone gives freshness');

  for (const path of ['/no-store', '/private', '/cookie']) {
    const a = await get(port, path, { headers: { 'x-user': 'alice' } });
    const b = await get(port, path, { headers: { 'x-user': 'bob' } });
    assert.equal(b.headers['x-cache'], 'MISS', `${path} is fetched again`);
    assert.ok(!b.body.includes('alice'), `${path}: bob never sees alice's response`);
    assert.ok(a.body.includes('alice') || path === '/no-store');
    assert.equal(o.count(path), 2);
  }
  const hits = await metricSum(n, 'ballast_cache_requests_total', { result: 'hit' });
  assert.ok(hits >= 2, `hit counter ${hits}`);
});

test('requests with Authorization or Cookie bypass the cache unless the route allows them; POST bypasses and invalidates', async () => {
  const o = await origin(() => ({ headers: { 'cache-control': 'public, max-age=60' }, body: 'shared' }));
  const n = await cachedNode(o);
  const port = n.port('web');
  await get(port, '/x');
  assert.equal((await get(port, '/x')).headers['x-cache'], 'HIT');
  assert.equal((await get(port, '/x', { headers: { authorization: 'Bearer t' } })).headers['x-cache'], 'BYPASS');
  assert.equal((await get(port, '/x', { headers: { cookie: 'a=b' } })).headers['x-cache'], 'BYPASS');
  assert.equal(o.count('/x'), 3);
  const post = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/x', method: 'POST', agent: false }, resolve);
    req.on('error', reject);
    req.end('data');
  });
  post.resume();
  assert.equal(post.headers['x-cache'], 'BYPASS');
  assert.equal((await get(port, '/x')).headers['x-cache'], 'MISS', 'a successful POST invalidated the stored response');

  const allowed = await origin(() => ({ headers: { 'cache-control': 'public, max-age=60' }, body: 'shared' }));
  const m = await cachedNode(allowed, { allowAuthorization: true, allowCookies: true });
  await get(m.port('web'), '/y', { headers: { authorization: 'Bearer t' } });
  const hit = await get(m.port('web'), '/y', { headers: { cookie: 'a=b' } });
  assert.equal(hit.headers['x-cache'], 'HIT');
  assert.equal(allowed.count('/y'), 1);
});

test('Vary: the key includes the varied request header', async () => {
  const o = await origin((req) => ({
    headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language' },
    body: `lang=${String(req.headers['accept-language'])}`,
  }));
  const n = await cachedNode(o);
  const port = n.port('web');
  const en1 = await get(port, '/v', { headers: { 'accept-language': 'en' } });
  const fr1 = await get(port, '/v', { headers: { 'accept-language': 'fr' } });
  const en2 = await get(port, '/v', { headers: { 'accept-language': 'en' } });
  const fr2 = await get(port, '/v', { headers: { 'accept-language': 'fr' } });
  assert.deepEqual([en1.headers['x-cache'], fr1.headers['x-cache'], en2.headers['x-cache'], fr2.headers['x-cache']], ['MISS', 'MISS', 'HIT', 'HIT']);
  assert.equal(en2.body, 'lang=en');
  assert.equal(fr2.body, 'lang=fr');
  assert.equal(o.count('/v'), 2);
});

test('ETag revalidation: a stale entry is revalidated with If-None-Match; the 304 refreshes it', async () => {
  const o = await origin((req, n) => {
    if (req.headers['if-none-match'] === '"v1"') return { status: 304, headers: { etag: '"v1"', 'cache-control': 'max-age=60' } };
    return { headers: { etag: '"v1"', 'cache-control': 'max-age=1' }, body: `body #${n}` };
  });
  const n = await cachedNode(o);
  const port = n.port('web');
  assert.equal((await get(port, '/e')).headers['x-cache'], 'MISS');
  // Client conditionals are answered from the entry.
  const cond = await get(port, '/e', { headers: { 'if-none-match': '"v1"' } });
  assert.equal(cond.status, 304);
  assert.equal(cond.headers['x-cache'], 'HIT');
  await new Promise((r) => setTimeout(r, 2100));
  const stale = await get(port, '/e');
  assert.equal(stale.headers['x-cache'], 'EXPIRED');
  assert.equal(stale.status, 200);
  assert.equal(stale.body, 'body #1', 'served from the refreshed entry');
  assert.equal(o.seen.at(-1)?.headers['if-none-match'], '"v1"', 'the backend was asked conditionally');
  const after = await get(port, '/e');
  assert.equal(after.headers['x-cache'], 'HIT', 'the 304 gave the entry max-age=60');
  assert.equal(o.count('/e'), 2);

  // Last-Modified works the same way.
  const lm = new Date(Date.now() - 60_000).toUTCString();
  const o2 = await origin((req) =>
    req.headers['if-modified-since'] === lm ? { status: 304, headers: { 'cache-control': 'max-age=60' } } : { headers: { 'last-modified': lm, 'cache-control': 'no-cache' }, body: 'lm body' },
  );
  const n2 = await cachedNode(o2);
  assert.equal((await get(n2.port('web'), '/l')).headers['x-cache'], 'MISS');
  const reval = await get(n2.port('web'), '/l');
  assert.equal(reval.headers['x-cache'], 'EXPIRED', 'no-cache: revalidated on use');
  assert.equal(reval.body, 'lm body');
  assert.equal((await get(n2.port('web'), '/l')).headers['x-cache'], 'HIT');
});

test('LRU by bytes: a 40 kB bound holds three 10 kB bodies and evicts the least recently used', async () => {
  const o = await origin(() => ({ headers: { 'cache-control': 'max-age=60' }, body: Buffer.alloc(10_000, 97) }));
  const n = await cachedNode(o, { maxBytes: 40_000, maxObjectBytes: 20_000 });
  const port = n.port('web');
  const xc = async (p: string): Promise<string> => String((await get(port, p)).headers['x-cache']);
  assert.deepEqual([await xc('/a'), await xc('/b'), await xc('/c')], ['MISS', 'MISS', 'MISS']);
  assert.equal(await xc('/a'), 'HIT');
  assert.equal(await xc('/d'), 'MISS');
  // b was the least recently used: it went; a, c and d stay.
  assert.deepEqual([await xc('/a'), await xc('/c'), await xc('/d')], ['HIT', 'HIT', 'HIT']);
  assert.equal(await xc('/b'), 'MISS');
  const bytes = await metricSum(n, 'ballast_cache_bytes');
  assert.ok(bytes <= 40_000 && bytes >= 30_000, `cache holds ${bytes} bytes`);
  assert.ok((await metricSum(n, 'ballast_cache_evictions_total')) >= 2);
});

test('coalescing: 100 concurrent misses for one key reach the backend once', async () => {
  const o = await origin(() => ({ headers: { 'cache-control': 'max-age=60' }, body: 'slow body', delayMs: 400 }));
  const n = await cachedNode(o);
  const port = n.port('web');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 100 });
  cleanups.push(async () => agent.destroy());
  const replies = await inParallel(100, 100, () => get(port, '/burst', { agent }));
  assert.ok(replies.every((r) => r.status === 200 && r.body === 'slow body'));
  assert.equal(o.count('/burst'), 1, 'one backend request for the burst');
  const results = replies.map((r) => r.headers['x-cache']);
  assert.equal(results.filter((x) => x === 'MISS').length, 1);
  assert.ok((await metricSum(n, 'ballast_cache_coalesced_total')) >= 50, 'most of the burst waited on the fill');
});

test('a body larger than maxObjectBytes streams to the client whole and is not stored', async () => {
  const big = Buffer.alloc(200_000, 98);
  const o = await origin(() => ({ headers: { 'cache-control': 'max-age=60' }, body: big }));
  const n = await cachedNode(o, { maxObjectBytes: 50_000 });
  const port = n.port('web');
  const first = await get(port, '/big');
  assert.equal(first.body.length, 200_000);
  const second = await get(port, '/big');
  assert.equal(second.body.length, 200_000);
  assert.equal(second.headers['x-cache'], 'MISS');
  assert.equal(o.count('/big'), 2);
});

test('purge reaches every worker: by prefix, then everything; the cache bytes of all workers drop', async () => {
  const o = await origin(() => ({ headers: { 'cache-control': 'max-age=600' }, body: Buffer.alloc(1000, 99) }));
  const n = await cachedNode(o, {}, 2);
  const port = n.port('web');
  // Fresh connections spread over both workers; repeat until both hold /img/1 and /doc/1.
  for (let i = 0; i < 40; i++) {
    await get(port, '/img/1');
    await get(port, '/doc/1');
  }
  const entriesBefore = await metricSum(n, 'ballast_cache_entries');
  console.log(`cache entries across workers before purge: ${entriesBefore}`);
  assert.ok(entriesBefore >= 2);
  await n.change({ v: 2, op: 'cache.purge', purge: { prefix: '/img/' } });
  const deadline = Date.now() + 5000;
  const remaining = (): Promise<number> => metricSum(n, 'ballast_cache_entries');
  while ((await remaining()) !== entriesBefore / 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await remaining(), entriesBefore / 2, 'only /img/ entries went, in every worker');
  const imgBefore = o.count('/img/1');
  for (let i = 0; i < 10; i++) await get(port, '/img/1');
  assert.ok(o.count('/img/1') > imgBefore, 'a purged path is fetched again');
  await n.change({ v: 2, op: 'cache.purge', purge: { route: 'site' } });
  while ((await remaining()) !== 0 && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await remaining(), 0, 'every worker emptied its cache');
  assert.ok((await metricSum(n, 'ballast_cache_purged_total')) >= entriesBefore);
});

/** GET with the body as bytes (compressed bodies are not text). */
function getBytes(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(15_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

test('with compression on the listener, hits are compressed for clients that accept it (gzip, br), identity for the rest', async () => {
  const text = 'cached text that compresses well. '.repeat(200);
  const o = await origin(() => ({ headers: { 'cache-control': 'max-age=60', 'content-type': 'text/plain', etag: '"v1"' }, body: text }));
  const n = await startTestNode(
    {
      pools: [{ name: 'web', backends: [{ name: 'o1', address: o.address }] }],
      listeners: [{ name: 'web', mode: 'http', bind: '127.0.0.1:0', compression: { enabled: true }, routes: [{ pathPrefix: '/', pool: 'web', name: 'site', cache: {} }] }],
    },
    { workers: 1 },
  );
  cleanups.push(() => n.stop());
  const port = n.port('web');
  const miss = await getBytes(port, '/doc', { 'accept-encoding': 'gzip' });
  assert.equal(miss.headers['x-cache'], 'MISS');
  assert.equal(miss.headers['content-encoding'], 'gzip', 'the miss was compressed on its way, as before');
  const cases: [string | undefined, string | undefined, (b: Buffer) => Buffer][] = [
    ['gzip', 'gzip', (b) => gunzipSync(b)],
    ['br;q=1, gzip;q=0.5', 'br', (b) => brotliDecompressSync(b)],
    [undefined, undefined, (b) => b],
    ['gzip', 'gzip', (b) => gunzipSync(b)],
  ];
  for (const [accept, coding, decode] of cases) {
    const r = await getBytes(port, '/doc', accept === undefined ? {} : { 'accept-encoding': accept });
    assert.equal(r.headers['x-cache'], 'HIT', `accept ${accept ?? '-'}`);
    assert.equal(r.headers['content-encoding'], coding, `accept ${accept ?? '-'}`);
    assert.match(String(r.headers['vary']), /accept-encoding/i);
    assert.equal(decode(r.body).toString(), text);
    if (coding !== undefined) {
      assert.equal(Number(r.headers['content-length']), r.body.length);
      assert.ok(r.body.length < text.length / 4, `${coding}: ${r.body.length} bytes for ${text.length}`);
      assert.equal(r.headers['etag'], 'W/"v1"', 'a compressed body has a weak validator');
    }
  }
  assert.equal(o.count('/doc'), 1, 'every hit came from the one stored response');
  const revalidated = await getBytes(port, '/doc', { 'accept-encoding': 'gzip', 'if-none-match': 'W/"v1"' });
  assert.equal(revalidated.status, 304, 'the weak validator the client was given revalidates');
});
