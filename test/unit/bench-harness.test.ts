// The benchmark harness's pure parts: wrk output parsing, the medians and ratios of the table, and
// the configs it generates (Ballast's must pass the real config loader, so schema drift breaks here
// and not in the middle of a benchmark run).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildConfig } from '../../config/load.js';
import { ballastConfig } from '../../scripts/bench/ballast.js';
import { measureGateCost } from '../../scripts/bench/gate-cost.js';
import { haproxyConfig, type LbLayout } from '../../scripts/bench/haproxy.js';
import { nginxBinary, nginxConfig } from '../../scripts/bench/nginx.js';
import { formatTable, medianOf, verdicts } from '../../scripts/bench/report.js';
import type { ScenarioResult, WrkResult } from '../../scripts/bench/types.js';
import { h2RequestCount, parseH2load } from '../../scripts/bench/h2load.js';
import { makeBenchCert } from '../../scripts/bench/tls-cert.js';
import { parseDuration, parseWrk } from '../../scripts/bench/wrk.js';

const WRK_OUTPUT = `Running 4s test @ http://127.0.0.1:40000/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    10.35ms    5.01ms  130.00ms   90.00%
    Req/Sec     2.18k   300.00     2.90k    70.00%
  Latency Distribution
     50%   10.35ms
     75%   12.00ms
     90%   15.00ms
     99%  129.61ms
  17396 requests in 4.00s, 19.97MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:   4349.00
Transfer/sec:      4.99MB
`;

const LAYOUT: LbLayout = {
  host: '127.0.0.1',
  httpPort: 40001,
  tcpPort: 40002,
  origins: [
    { host: '127.0.0.1', port: 41001 },
    { host: '127.0.0.1', port: 41002 },
  ],
  sinks: [{ host: '127.0.0.1', port: 42001 }],
  workers: 2,
};

function wrk(requestsPerSec: number): WrkResult {
  return {
    cpu: null,
    requestsPerSec,
    requests: requestsPerSec * 4,
    p50Us: 1000,
    p99Us: 5000,
    socketErrors: { connect: 0, read: 0, write: 0, timeout: 0 },
    non2xx3xx: 0,
  };
}

test('wrk durations and report are parsed, errors included', () => {
  assert.equal(parseDuration('812.00us'), 812);
  assert.equal(parseDuration('1.5ms'), 1500);
  assert.equal(Math.round(parseDuration('2.01s')), 2_010_000);
  assert.throws(() => parseDuration('fast'), /cannot parse/);
  const r = parseWrk(WRK_OUTPUT);
  assert.equal(r.requestsPerSec, 4349);
  assert.equal(r.requests, 17396);
  assert.equal(Math.round(r.p50Us), 10_350);
  assert.equal(Math.round(r.p99Us), 129_610);
  assert.deepEqual(r.socketErrors, { connect: 0, read: 2, write: 0, timeout: 3 });
  assert.equal(r.non2xx3xx, 7);
  assert.throws(() => parseWrk('unable to connect to 127.0.0.1:1 Connection refused'), /unexpected output/);
});

test('the median run is shown with every headline kept, and the ratio is judged against its target', () => {
  const runs = [wrk(300), wrk(100), wrk(200)];
  const m = medianOf(runs, []);
  assert.ok(m);
  assert.equal((m.median as WrkResult).requestsPerSec, 200);
  assert.deepEqual(m.headlines, [300, 100, 200]);
  assert.equal(medianOf([], ['boom']), null);

  const result: ScenarioResult = {
    scenario: 'http-keepalive',
    cells: {
      ballast: { ok: true, value: { median: wrk(200), headlines: [200], failures: [] } },
      haproxy: { ok: true, value: { median: wrk(1000), headlines: [1000], failures: [] } },
      direct: { ok: false, reason: 'not selected' },
      'node-floor': { ok: false, reason: 'not selected' },
    },
  };
  const [v] = verdicts([result]);
  assert.ok(v);
  assert.equal(v.ratio, 0.2);
  assert.equal(v.pass, false);
  const table = formatTable([result], 50, 1);
  assert.match(table, /0\.20x/);
  assert.match(table, />=0\.5x BELOW/);
});

test("the generated Ballast config passes the real config loader with the benchmark's layout", () => {
  const config = buildConfig(ballastConfig('/tmp/ballast-bench-test', LAYOUT, 40003), 'bench.yaml');
  assert.equal(config.node.workers, 2);
  const pools = config.bootstrap.pools;
  assert.deepEqual(
    pools.map((p) => [p.name, p.scheduler, p.backends.map((b) => b.port)]),
    [
      ['web', 'round-robin', [41001, 41002]],
      ['bulk', 'round-robin', [42001]],
    ],
  );
  assert.ok(pools.every((p) => p.healthCheck === undefined), 'no health checks, as HAProxy has no `check`');
});

test('the HAProxy config mirrors it: same threads, listeners, servers and scheduler', () => {
  const cfg = haproxyConfig(LAYOUT);
  assert.match(cfg, /nbthread 2\n/);
  assert.match(cfg, /bind 127\.0\.0\.1:40001\n/);
  assert.match(cfg, /bind 127\.0\.0\.1:40002\n/);
  assert.match(cfg, /server o1 127\.0\.0\.1:41001\n\s+server o2 127\.0\.0\.1:41002\n/);
  assert.match(cfg, /server s1 127\.0\.0\.1:42001\n/);
  assert.equal(cfg.match(/balance roundrobin/g)?.length, 2);
  assert.doesNotMatch(cfg, /\bcheck\b/);
});

const H2LOAD_OUTPUT = `finished in 3.00s, 6428.33 req/s, 7.50MB/s
requests: 19285 total, 19385 started, 19285 done, 19280 succeeded, 5 failed, 2 errored, 1 timeout
status codes: 19280 2xx, 0 3xx, 4 4xx, 1 5xx
traffic: 22.50MB (23592960) total, 1.20MB (1258291) headers (space savings 90.00%), 18.84MB (19752960) data
`;

test('h2load reports are parsed, and one where nothing succeeded is a failure', () => {
  const r = parseH2load(H2LOAD_OUTPUT);
  assert.equal(r.requestsPerSec, 6428.33);
  assert.equal(r.requests, 19280);
  assert.equal(r.non2xx3xx, 5);
  assert.deepEqual(r.socketErrors, { connect: 0, read: 2, write: 0, timeout: 1 });
  assert.ok(Number.isNaN(r.p50Us));
  const none = H2LOAD_OUTPUT.replace('19280 succeeded', '0 succeeded');
  assert.throws(() => parseH2load(none), /no request succeeded/);
  assert.throws(() => parseH2load('connect: Connection refused'), /unexpected output/);
});

test('with a certificate (made by the openssl CLI) both balancers get an https listener over the same origins', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cert-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cert = makeBenchCert(dir);
  const combined = readFileSync(cert.combinedFile, 'utf8');
  assert.match(combined, /BEGIN CERTIFICATE[\s\S]+BEGIN PRIVATE KEY/);
  const tlsLayout: LbLayout = { ...LAYOUT, tls: { port: 40004, cert } };
  const cfg = haproxyConfig(tlsLayout);
  assert.ok(cfg.includes(`bind 127.0.0.1:40004 ssl crt ${cert.combinedFile} alpn h2,http/1.1\n  default_backend web\n`));
  assert.doesNotMatch(haproxyConfig(LAYOUT), /\bssl\b/);
  // The real loader reads and checks the files: a bad pair fails here, not mid-benchmark.
  const config = buildConfig(ballastConfig(dir, tlsLayout, 40003), 'bench.yaml');
  const secure = config.bootstrap.listeners.find((l) => l.name === 'secure');
  assert.ok(secure, 'an https listener');
  assert.match(JSON.stringify(secure.bind), /40004/);
  assert.ok(JSON.stringify(secure).includes('"tls"'));
});

test('h2load runs are sized from the last measured rate, within bounds; the first one calibrates', () => {
  assert.equal(h2RequestCount(undefined, 4, 500), 4000);
  assert.equal(h2RequestCount(0, 4, 500), 4000);
  assert.equal(h2RequestCount(3000, 4, 500), 12_000);
  // A slow target still gets a few requests per stream slot, a fast one a bounded count.
  assert.equal(h2RequestCount(100, 4, 500), 2000);
  assert.equal(h2RequestCount(1e9, 4, 500), 5_000_000);
});

test('edge scenarios: the cache and rules listeners pass the config loader; the rule set passes the benchmark request', async () => {
  const config = buildConfig(ballastConfig('/tmp/ballast-bench-test', LAYOUT, 40003, { cachePort: 40010, rulesPort: 40011 }), 'bench.yaml');
  const byName = new Map(config.bootstrap.listeners.map((l) => [l.name, l]));
  assert.equal(byName.get('cached')?.routes[0]?.cache?.maxBytes, 64 * 1024 * 1024);
  const rules = byName.get('rules');
  assert.ok(rules?.access !== undefined && rules.filter?.mode === 'block' && rules.rateLimits?.length === 1);
  // In process, over the real HttpGate: it refuses nothing (measureGateCost throws on a refusal), and costs more than nothing.
  const cost = await measureGateCost(2000);
  assert.ok(cost.onUs > cost.offUs, `rules on ${cost.onUs} us vs off ${cost.offUs} us`);
});

test('nginx proxy_cache config: every path in the temp dir, no daemon, and nginx -t accepts it when installed', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ballast-nginx-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = nginxConfig({ host: '127.0.0.1', port: 40020, origins: LAYOUT.origins, workers: 2, dir });
  assert.match(cfg, /daemon off;/);
  assert.match(cfg, /listen 127\.0\.0\.1:40020;/);
  assert.match(cfg, /server 127\.0\.0\.1:41001;\n\s+server 127\.0\.0\.1:41002;/);
  for (const m of cfg.matchAll(/(?:pid|error_log|_path) (\/\S+)/g)) assert.ok(m[1]?.startsWith(dir), `${m[0]} under the temp dir`);
  const bin = nginxBinary();
  if (bin === null) {
    t.skip('nginx not installed (scripts/install-os-deps.sh)');
    return;
  }
  writeFileSync(join(dir, 'nginx.conf'), cfg);
  execFileSync(bin, ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf'), '-t', '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
});
