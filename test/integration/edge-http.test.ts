// Edge protection on an HTTP listener of a real node with 2 worker processes: rate limits shared
// by the workers (burst, 429 + Retry-After, steady rate), CIDR rules, the request filter (block,
// monitor, JSON bodies), access logs with SIGHUP reopen, PROXY protocol in, live changes.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { normalizeListener } from '../../config/normalize.js';
import type { ListenerInput } from '../../config/schema.js';
import { encodeV1, encodeV2 } from '../../lb/proxy-protocol/encode.js';
import { get, inParallel, type Reply } from '../support/http-client.js';
import { startTestNode, type TestNode } from '../support/in-process-node.js';
import { startOrigin, type Origin } from '../support/origin-server.js';
import { rawExchange, statusOf } from '../support/raw-client.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

const logDir = mkdtempSync(join(tmpdir(), 'ballast-edge-'));
const logPath = join(logDir, 'access.log');

async function setup(listener: Omit<ListenerInput, 'name' | 'mode' | 'bind'>, workers = 2): Promise<{ n: TestNode; origin: Origin }> {
  const origin = await startOrigin('o1');
  cleanups.push(() => origin.close());
  const n = await startTestNode(
    {
      pools: [{ name: 'web', backends: [{ name: 'o1', address: origin.address }] }],
      listeners: [{ name: 'web', mode: 'http', bind: '127.0.0.1:0', ...listener }],
    },
    { workers },
  );
  cleanups.push(() => n.stop());
  return { n, origin };
}

function post(port: number, path: string, body: string, contentType = 'application/json'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function lines(path: string, atLeast: number, timeoutMs = 10_000): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    const got = text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    if (got.length >= atLeast || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('rate limit per client address, shared by 2 workers: burst, then 429 with Retry-After, then the steady rate', async () => {
  const rate = 10;
  const burst = 20;
  const { n, origin } = await setup({ routes: [{ pathPrefix: '/', pool: 'web' }], rateLimits: [{ key: 'ip', rate: `${rate}/s`, burst }] });
  const port = n.port('web');
  // Warm both workers (first requests pay for lazy compilation), from addresses not used below.
  await inParallel(8, 4, (i) => get(port, '/', { localAddress: `127.0.0.${30 + i}` }));
  // Burst: 60 requests at once, each on its own connection (the kernel spreads them over both workers).
  const began = Date.now();
  const burstReplies = await inParallel(60, 20, () => get(port, '/', { localAddress: '127.0.0.11' }));
  const burstSecs = (Date.now() - began) / 1000;
  const ok = burstReplies.filter((r) => r.status === 200).length;
  const limited = burstReplies.filter((r) => r.status === 429);
  console.log(`burst: ${ok} admitted of 60 in ${burstSecs.toFixed(2)} s`);
  assert.equal(ok + limited.length, 60);
  // Not shared, each worker would admit its own burst (40 of 60).
  assert.ok(ok >= burst - 2 && ok <= burst + Math.ceil(rate * burstSecs) + 2, `admitted ${ok}`);
  for (const r of limited) assert.ok(Number(r.headers['retry-after']) >= 1, 'Retry-After on every 429');
  assert.equal(origin.seen.length, ok + 8, 'refused requests never reached the backend');
  // Another client address has its own bucket.
  assert.equal((await get(port, '/', { localAddress: '127.0.0.12' })).status, 200);

  // Steady: offer ~3x the rate for 3 s from a fresh address; admitted ~= burst + rate x t.
  const start = Date.now();
  let admitted = 0;
  let offered = 0;
  while (Date.now() - start < 3000 && offered < 1000) {
    const round = await inParallel(6, 6, () => get(port, '/', { localAddress: '127.0.0.13' }));
    offered += round.length;
    admitted += round.filter((r) => r.status === 200).length;
    await new Promise((r) => setTimeout(r, 80));
  }
  const secs = (Date.now() - start) / 1000;
  const expected = burst + rate * secs;
  console.log(`steady: ${admitted} admitted of ${offered} offered in ${secs.toFixed(2)} s; bucket allows ${expected.toFixed(0)}`);
  assert.ok(admitted <= expected * 1.1 + 1, `admitted ${admitted} > ${expected} + 10%`);
  assert.ok(admitted >= expected * 0.75, `admitted ${admitted} well below ${expected}`);
});

test('per-header (API key) and per-route limits', async () => {
  const { n } = await setup({
    routes: [
      { pathPrefix: '/api/', pool: 'web', rateLimits: [{ key: 'header', header: 'x-api-key', rate: '1/m', burst: 3 }] },
      { pathPrefix: '/slow/', pool: 'web', rateLimits: [{ key: 'route', rate: '1/m', burst: 2 }] },
      { pathPrefix: '/', pool: 'web' },
    ],
  }, 1);
  const port = n.port('web');
  const statuses = async (count: number, path: string, headers: Record<string, string> = {}, localAddress = '127.0.0.1') => {
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push((await get(port, path, { headers, localAddress })).status);
    return out;
  };
  assert.deepEqual(await statuses(4, '/api/x', { 'x-api-key': 'alice' }), [200, 200, 200, 429]);
  assert.deepEqual(await statuses(2, '/api/x', { 'x-api-key': 'bob' }), [200, 200], 'another key, another bucket');
  assert.deepEqual(await statuses(3, '/slow/a', {}, '127.0.0.21'), [200, 200, 429]);
  assert.deepEqual(await statuses(1, '/slow/b', {}, '127.0.0.22'), [429], 'the route bucket is shared by every client');
  assert.deepEqual(await statuses(3, '/other'), [200, 200, 200], 'unlimited route');
});

test('CIDR rules: a denied address gets 403 on the listener and on a route, before any backend', async () => {
  const { n, origin } = await setup({
    access: { deny: ['127.0.0.66/32'] },
    routes: [
      { pathPrefix: '/admin/', pool: 'web', access: { allow: ['127.0.0.1/32'] } },
      { pathPrefix: '/', pool: 'web' },
    ],
  });
  const port = n.port('web');
  assert.equal((await get(port, '/', { localAddress: '127.0.0.66' })).status, 403);
  assert.equal((await get(port, '/admin/', { localAddress: '127.0.0.66' })).status, 403);
  assert.equal((await get(port, '/admin/', { localAddress: '127.0.0.2' })).status, 403, 'not on the route allow list');
  assert.equal(origin.seen.length, 0);
  assert.equal((await get(port, '/admin/', { localAddress: '127.0.0.1' })).status, 200);
  assert.equal((await get(port, '/', { localAddress: '127.0.0.2' })).status, 200);
});

test('request filter: each rule blocks with its id, benign requests pass, monitor mode lets through, JSON routes', async () => {
  const { n, origin } = await setup({
    filter: { mode: 'block' },
    accessLog: { format: 'json', path: logPath },
    routes: [
      { pathPrefix: '/watch/', pool: 'web', filter: { mode: 'monitor' } },
      { pathPrefix: '/json/', pool: 'web', filter: { mode: 'block', json: true, maxJsonBytes: 64 } },
      { pathPrefix: '/', pool: 'web' },
    ],
  });
  const port = n.port('web');
  const blocked: [string, string][] = [
    ['/static/%2e%2e/%2e%2e/etc/passwd', 'traversal-dotdot'],
    ['/static/%252e%252e%252fetc', 'traversal-double-encoded'],
    ['/static/%5cwin.ini', 'traversal-backslash'],
    ['/a.png%00.php', 'null-byte'],
    ['/q?id=1%20UNION%20SELECT%20password%20FROM%20users', 'sqli-union'],
    ["/q?u=admin%27%20or%20%271%27%3D%271", 'sqli-tautology'],
    ["/q?u=admin%27--", 'sqli-comment'],
    ['/q?id=1%3BDROP%20TABLE%20users', 'sqli-stacked'],
    ['/q?id=1%20AND%20SLEEP(5)', 'sqli-sleep'],
    ['/q?s=%3Cscript%3Ealert(1)%3C/script%3E', 'xss-script'],
    ['/q?s=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E', 'xss-handler'],
    ['/q?next=javascript:alert(1)', 'xss-js-uri'],
  ];
  for (const [url, rule] of blocked) {
    const r = await get(port, url);
    assert.equal(r.status, 403, `${url} -> ${r.status}`);
    assert.match(r.body, new RegExp(rule));
  }
  assert.equal(origin.seen.length, 0, 'no blocked request reached the backend');
  for (const url of ['/q?s=union+station', "/q?name=O'Reilly", '/docs/v1..v2', '/q?s=learn+javascript%3A+basics']) {
    assert.equal((await get(port, url)).status, 200, url);
  }
  // Monitor: logged (access log carries no rule, the edge metric counts it), not blocked.
  assert.equal((await get(port, '/watch/%2e%2e/secret')).status, 200);
  // JSON route.
  assert.equal((await post(port, '/json/x', '{"ok":true}')).status, 200);
  assert.equal(origin.seen.at(-1)?.url, '/json/x');
  assert.equal((await post(port, '/json/x', '{"broken":')).status, 400);
  assert.equal((await post(port, '/json/x', JSON.stringify({ big: 'x'.repeat(100) }))).status, 413);
  assert.equal((await post(port, '/json/x', 'a=1', 'application/x-www-form-urlencoded')).status, 415);

  const metrics = await n.node.supervisor!.metrics();
  const decisions = (await metrics.getSingleMetric('ballast_edge_decisions_total')?.get())?.values ?? [];
  const count = (rule: string, action: string) => decisions.filter((v) => v.labels['rule'] === rule && v.labels['action'] === action).reduce((a, v) => a + v.value, 0);
  for (const [, rule] of blocked) assert.equal(count(rule, 'blocked'), 1, `${rule} counted once`);
  assert.equal(count('traversal-dotdot', 'monitored'), 1);
  for (const rule of ['json-malformed', 'json-too-large', 'json-content-type']) assert.equal(count(rule, 'blocked'), 1, rule);
  // The access log has one line per request, the refused ones with their rule id.
  const logged = await lines(logPath, blocked.length + 9);
  const refused = logged.filter((l) => l['rule'] !== undefined).map((l) => l['rule']);
  for (const [, rule] of blocked) assert.ok(refused.includes(rule), `access log names ${rule}`);
});

test('access log: fields of a proxied request; rename + SIGHUP starts a new file, sampling', async () => {
  const path = join(logDir, 'rotate.log');
  const { n } = await setup({ routes: [{ pathPrefix: '/', pool: 'web' }], accessLog: { format: 'json', path } });
  const port = n.port('web');
  assert.equal((await get(port, '/first?x=1', { headers: { 'user-agent': 'edge-test' } })).status, 200);
  const [first] = await lines(path, 1);
  assert.ok(first);
  assert.equal(first['listener'], 'web');
  assert.equal(first['route'], '*/');
  assert.equal(first['pool'], 'web');
  assert.equal(first['backend'], 'o1');
  assert.equal(first['status'], 200);
  assert.equal(first['client'], '127.0.0.1');
  assert.equal(first['url'], '/first?x=1');
  assert.equal(first['userAgent'], 'edge-test');
  assert.ok((first['bytesIn'] as number) > 0 && (first['bytesOut'] as number) > 0);
  for (const f of ['connectMs', 'ttfbMs', 'totalMs']) assert.equal(typeof first[f], 'number', f);
  assert.ok((first['ttfbMs'] as number) <= (first['totalMs'] as number) + 0.1);

  // logrotate: move the file away, signal, and new lines land in a new file at the old path.
  renameSync(path, `${path}.1`);
  n.node.reopenLogs();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await get(port, '/second')).status, 200);
  const fresh = await lines(path, 1);
  assert.equal(fresh.length, 1);
  assert.equal(fresh[0]?.['url'], '/second');
  assert.equal(readFileSync(`${path}.1`, 'utf8').trim().split('\n').length, 1, 'the rotated file kept the old line only');
  // The same with SIGHUP sent straight to the worker processes (what logrotate's postrotate may do).
  renameSync(path, `${path}.2`);
  for (const pid of n.node.supervisor!.pids()) process.kill(pid, 'SIGHUP');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await get(port, '/third')).status, 200);
  assert.equal((await lines(path, 1))[0]?.['url'], '/third');
  assert.equal(n.node.supervisor!.pids().length, 2, 'SIGHUP did not kill a worker');

  // Sampling: 0.25 of 200 requests, live change of the listener.
  const sampled = join(logDir, 'sampled.log');
  await n.change({ v: 2, op: 'listener.replace', listener: normalizeListener({ name: 'web', mode: 'http', bind: `127.0.0.1:${port}`, routes: [{ pathPrefix: '/', pool: 'web' }], accessLog: { format: 'combined', path: sampled, sample: 0.25 } }, 'l') });
  await inParallel(200, 8, () => get(port, '/s'));
  await new Promise((r) => setTimeout(r, 500));
  const kept = readFileSync(sampled, 'utf8').trim().split('\n');
  console.log(`sampling 0.25: ${kept.length} of 200 logged`);
  assert.ok(kept.length >= 20 && kept.length <= 90, `${kept.length} lines`);
  assert.match(kept[0] ?? '', /^127\.0\.0\.1 - - \[.+\] "GET \/s HTTP\/1\.1" 200 \d+ "-" "-" listener=web route=\*\/ pool=web backend=o1 in=\d+ connect_ms=/);
});

test('PROXY protocol in: v1 and v2 client addresses reach X-Forwarded-For, rules and logs; no header, no service', async () => {
  const path = join(logDir, 'proxy.log');
  const { n, origin } = await setup({
    routes: [{ pathPrefix: '/', pool: 'web' }],
    acceptProxy: true,
    proxyFrom: ['127.0.0.0/8'],
    access: { deny: ['2001:db8:bad::/48', '198.51.100.66'] },
    accessLog: { format: 'json', path },
  });
  const port = n.port('web');
  const request = 'GET /pp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
  const v1 = await rawExchange(port, [encodeV1({ sourceAddress: '203.0.113.9', sourcePort: 4000, destAddress: '127.0.0.1', destPort: port }), request]);
  assert.equal(statusOf(v1.data), 200, v1.data);
  assert.equal(origin.seen.at(-1)?.headers['x-forwarded-for'], '203.0.113.9');
  const v2 = await rawExchange(port, [encodeV2({ sourceAddress: '2001:db8::7', sourcePort: 4001, destAddress: '::1', destPort: port }), request]);
  assert.equal(statusOf(v2.data), 200, v2.data);
  assert.equal(origin.seen.at(-1)?.headers['x-forwarded-for'], '2001:db8::7');
  const seen = origin.seen.length;
  const denied6 = await rawExchange(port, [encodeV2({ sourceAddress: '2001:db8:bad::1', sourcePort: 1, destAddress: '::1', destPort: port }), request]);
  assert.equal(statusOf(denied6.data), 403, 'IPv6 deny by CIDR on the address the header carried');
  const denied4 = await rawExchange(port, [encodeV1({ sourceAddress: '198.51.100.66', sourcePort: 1, destAddress: '127.0.0.1', destPort: port }), request]);
  assert.equal(statusOf(denied4.data), 403);
  const bare = await rawExchange(port, [request]);
  assert.ok(bare.closedEmpty, 'a connection without the header is closed unanswered');
  assert.equal(origin.seen.length, seen);
  const logged = await lines(path, 4);
  assert.deepEqual(logged.map((l) => l['client']).slice(0, 4), ['203.0.113.9', '2001:db8::7', '2001:db8:bad::1', '198.51.100.66']);
});

test('live changes: a deny rule added while a keep-alive connection is open applies to its next request', async () => {
  const { n } = await setup({ routes: [{ pathPrefix: '/', pool: 'web' }] }, 1);
  const port = n.port('web');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  cleanups.push(async () => agent.destroy());
  assert.equal((await get(port, '/', { agent })).status, 200);
  await n.change({ v: 2, op: 'listener.replace', listener: normalizeListener({ name: 'web', mode: 'http', bind: `127.0.0.1:${port}`, routes: [{ pathPrefix: '/', pool: 'web' }], access: { deny: ['127.0.0.1'] } }, 'l') });
  assert.equal((await get(port, '/', { agent })).status, 403);
  await n.change({ v: 2, op: 'listener.replace', listener: normalizeListener({ name: 'web', mode: 'http', bind: `127.0.0.1:${port}`, routes: [{ pathPrefix: '/', pool: 'web' }] }, 'l') });
  assert.equal((await get(port, '/', { agent })).status, 200);
});
