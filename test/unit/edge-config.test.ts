// Edge settings through the config validator and normalizer (messages name the field), CIDR
// access rules for IPv4/IPv6/mapped addresses, and access log line formats.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCombined, formatJson } from '../../lb/access-log/format.js';
import type { AccessRecord } from '../../lb/access-log/types.js';
import { AccessRules } from '../../lb/edge/access-rules.js';
import { buildConfig } from '../../config/load.js';
import { ConfigError } from '../../config/errors.js';

function listener(extra: Record<string, unknown>, mode: 'http' | 'tcp' = 'http') {
  const base = mode === 'http' ? { name: 'web', mode, bind: '127.0.0.1:8080', routes: [{ pathPrefix: '/', pool: 'p' }] } : { name: 'db', mode, bind: '127.0.0.1:5432', pool: 'p' };
  return buildConfig({ node: { id: 'n1', dataDir: '/tmp/x', adminListen: '127.0.0.1:9001' }, bootstrap: { pools: [{ name: 'p' }], listeners: [{ ...base, ...extra }] } }, 'inline');
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

test('edge settings normalize with defaults: rates as tokens per second, filter and log defaults', () => {
  const c = listener({
    access: { deny: ['10.0.0.0/8', '2001:db8::/32'] },
    rateLimits: [{ key: 'header', header: 'X-Api-Key', rate: '600/m' }],
    filter: { json: true },
    accessLog: { format: 'combined' },
    acceptProxy: true,
    proxyFrom: ['127.0.0.1'],
    routes: [{ pathPrefix: '/api/', pool: 'p', filter: { mode: 'monitor', disable: ['sqli-comment'] }, rateLimits: [{ key: 'route', rate: '5/s', burst: 10, scope: 'cluster' }] }],
  });
  const l = c.bootstrap.listeners[0]!;
  assert.deepEqual(l.access, { allow: [], deny: ['10.0.0.0/8', '2001:db8::/32'] });
  assert.deepEqual(l.rateLimits, [{ key: 'header', header: 'x-api-key', ratePerSec: 10, burst: 10, scope: 'node' }]);
  assert.deepEqual(l.filter, { mode: 'block', disabled: [], json: true, maxJsonBytes: 1048576 });
  assert.deepEqual(l.accessLog, { format: 'combined', path: 'stdout', sample: 1 });
  assert.equal(l.acceptProxy, true);
  assert.deepEqual(l.routes[0]?.rateLimits, [{ key: 'route', ratePerSec: 5, burst: 10, scope: 'cluster' }]);
  assert.equal(l.routes[0]?.filter?.mode, 'monitor');
});

test('bad edge settings are refused with the field named', () => {
  const cases: [Record<string, unknown>, RegExp, ('http' | 'tcp')?][] = [
    [{ access: { deny: ['10.0.0.0/33'] } }, /bootstrap\.listeners\[0\]\.access\.deny\[0\]/],
    [{ access: { allow: ['not-an-ip'] } }, /access\.allow\[0\]: must be an address or CIDR/],
    [{ rateLimits: [{ key: 'ip', rate: 'fast' }] }, /rateLimits\[0\]\.rate: must be a rate like 10\/s/],
    [{ rateLimits: [{ key: 'header', rate: '1/s' }] }, /rateLimits\[0\]\.header: is required when key is "header"/],
    [{ rateLimits: [{ key: 'ip', rate: '0/s' }] }, /rateLimits\[0\]\.rate: must be more than 0/],
    [{ filter: { disable: ['no-such-rule'] } }, /filter\.disable\[0\]: unknown rule "no-such-rule"/],
    [{ filter: { mode: 'log' } }, /filter\.mode: must be one of: block, monitor/],
    [{ accessLog: { sample: 2 } }, /accessLog\.sample/],
    [{ proxyFrom: ['10.0.0.0/8'] }, /proxyFrom: only applies with acceptProxy: true/],
    [{ sendProxy: 'v3' }, /sendProxy: must be one of: v1, v2/, 'tcp'],
    [{ sendProxy: 'v0' }, /sendProxy: must be one of: v1, v2/],
    [{ filter: { mode: 'block' } }, /filter: the request filter is for http listeners/, 'tcp'],
    [{ routes: [{ pathPrefix: '/', pool: 'p', access: { deny: ['1.2.3.4/40'] } }] }, /routes\[0\]\.access\.deny\[0\]/],
  ];
  for (const [extra, want, mode] of cases) assert.match(refusal(() => listener(extra, mode)), want);
});

test('access rules: deny wins, an allow list admits only its own, IPv6 and IPv4-mapped addresses', () => {
  const r = new AccessRules({ allow: ['127.0.0.0/8', '2001:db8::/32'], deny: ['127.0.0.66', '2001:db8:bad::/48'] });
  assert.equal(r.check('127.0.0.1').allowed, true);
  assert.equal(r.check('::ffff:127.0.0.1').allowed, true);
  assert.deepEqual(r.check('127.0.0.66'), { allowed: false, reason: 'deny' });
  assert.deepEqual(r.check('::ffff:127.0.0.66'), { allowed: false, reason: 'deny' });
  assert.deepEqual(r.check('192.0.2.1'), { allowed: false, reason: 'not-allowed' });
  assert.equal(r.check('2001:db8::1').allowed, true);
  assert.equal(r.check('2001:db8:bad::1').allowed, false);
  assert.equal(r.check('::1').allowed, false);
  assert.equal(new AccessRules({ allow: [], deny: ['::1/128'] }).check('::1').allowed, false);
  assert.equal(new AccessRules({ allow: [], deny: ['::1/128'] }).check('127.0.0.1').allowed, true);
});

test('access log lines: JSON has every field; combined is CLF plus Ballast fields, quoted safely', () => {
  const r: AccessRecord = {
    time: Date.UTC(2024, 0, 2, 3, 4, 5),
    kind: 'http',
    listener: 'web',
    route: '*/api/',
    pool: 'api',
    backend: 'a1',
    client: '192.0.2.7',
    clientPort: 5555,
    method: 'GET',
    url: '/api/x?q="1"',
    protocol: 'HTTP/1.1',
    userAgent: 'curl/8\n',
    status: 200,
    outcome: 'ok',
    bytesIn: 80,
    bytesOut: 512,
    connectMs: 1.234,
    ttfbMs: 5.678,
    totalMs: 9.87,
  };
  const j = JSON.parse(formatJson(r)) as Record<string, unknown>;
  for (const f of ['listener', 'route', 'pool', 'backend', 'status', 'bytesIn', 'bytesOut', 'connectMs', 'ttfbMs', 'totalMs', 'client']) assert.ok(f in j, f);
  assert.equal(j['time'], '2024-01-02T03:04:05.000Z');
  assert.equal(j['connectMs'], 1.2);
  assert.equal(
    formatCombined(r),
    '192.0.2.7 - - [02/Jan/2024:03:04:05 +0000] "GET /api/x?q=\\"1\\" HTTP/1.1" 200 512 "-" "curl/8\\x0a"' +
      ' listener=web route=*/api/ pool=api backend=a1 in=80 connect_ms=1.2 ttfb_ms=5.7 total_ms=9.9',
  );
});

test('access verdicts stay right when remembered: repeated checks, and past the memo bound', () => {
  const r = new AccessRules({ allow: ['10.0.0.0/8'], deny: ['10.0.0.66'] });
  for (let round = 0; round < 2; round++) {
    assert.deepEqual(r.check('10.0.0.66'), { allowed: false, reason: 'deny' });
    assert.deepEqual(r.check('10.1.2.3'), { allowed: true });
    assert.deepEqual(r.check('192.0.2.1'), { allowed: false, reason: 'not-allowed' });
  }
  // 5000 distinct addresses (more than the memo holds), then the first ones again.
  for (let i = 0; i < 5000; i++) assert.equal(r.check(`10.0.${i >> 8}.${i & 255}`).allowed, `10.0.${i >> 8}.${i & 255}` !== '10.0.0.66');
  assert.equal(r.check('10.0.0.66').allowed, false);
  assert.equal(r.check('192.0.2.1').allowed, false);
});
