// Config loading: every bad input names the field and the fix; good input gets its defaults.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../config/errors.js';
import { buildConfig, loadConfigFile } from '../../config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'ballast-config-'));

function base(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { node: { id: 'n1', dataDir: './data', adminListen: '127.0.0.1:9001', workers: 1 }, ...extra };
}

function pools(...p: unknown[]) {
  return { bootstrap: { pools: p } };
}

function expectError(raw: unknown, message: string): void {
  assert.throws(
    () => buildConfig(raw, join(dir, 'x.yaml')),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
      assert.equal(err.message, message);
      return true;
    },
  );
}

test('the DESIGN.md example loads from YAML with defaults applied', () => {
  const path = join(dir, 'ok.yaml');
  writeFileSync(
    path,
    `node:
  id: n1
  dataDir: /var/lib/ballast
  adminListen: 127.0.0.1:9001
  clusterListen: 127.0.0.1:7001
cluster:
  secret: change-me
  peers:
    - { id: n1, address: 127.0.0.1:7001 }
    - { id: n2, address: 127.0.0.1:7002 }
    - { id: n3, address: 127.0.0.1:7003 }
  vip: { address: 198.18.0.100/24, interface: eth0, driver: linux }
admin:
  user: admin
  password: s3cret-pw
bootstrap:
  listeners:
    - name: web
      mode: http
      bind: 0.0.0.0:8080
      routes:
        - { pathPrefix: /api/, pool: api }
        - { pathPrefix: /, pool: web, host: Example.com }
    - { name: db, mode: tcp, bind: 0.0.0.0:15432, pool: pg }
  pools:
    - name: web
      scheduler: least-conn
      healthCheck: { type: http, path: /health, interval: 2s, timeout: 1s, rise: 2, fall: 3, expectStatus: 200-399 }
      backends:
        - { name: web1, address: 127.0.0.1:9101, weight: 3 }
        - { name: web2, address: 127.0.0.1:9102, weight: 1, state: drain }
    - { name: api, backends: [{ name: a1, address: "[::1]:9200" }] }
    - { name: pg, scheduler: ip-hash, backends: [{ name: pg1, address: 127.0.0.1:5432 }] }
`,
  );
  const c = loadConfigFile(path);
  assert.equal(c.cluster.peers.length, 3);
  assert.equal(c.cluster.vip?.driver, 'linux');
  const web = c.bootstrap.pools[0]!;
  assert.equal(web.scheduler, 'least-conn');
  assert.deepEqual(web.healthCheck?.expectStatus, [{ from: 200, to: 399 }]);
  assert.equal(web.healthCheck?.intervalMs, 2000);
  assert.equal(web.backends[1]?.state, 'drain');
  assert.equal(c.bootstrap.pools[1]?.backends[0]?.host, '::1');
  assert.equal(c.bootstrap.pools[1]?.scheduler, 'round-robin');
  const listener = c.bootstrap.listeners[0]!;
  assert.equal(listener.routes[1]?.host, 'example.com');
  assert.equal(listener.timeouts.connectMs, 5000);
  assert.equal(c.bootstrap.listeners[1]?.pool, 'pg');
});

test('JSON config files load too', () => {
  const path = join(dir, 'ok.json');
  writeFileSync(path, JSON.stringify(base(pools({ name: 'p', backends: [{ name: 'b', address: '127.0.0.1:1' }] }))));
  assert.equal(loadConfigFile(path).bootstrap.pools[0]?.backends[0]?.weight, 1);
});

const BAD: [string, unknown, string][] = [
  ['weight out of range', base(pools({ name: 'web', backends: [{ name: 'a', address: '127.0.0.1:1' }, { name: 'b', address: '127.0.0.1:2', weight: 300 }] })), 'bootstrap.pools[0].backends[1].weight: must be an integer 0..256'],
  ['weight as a string', base(pools({ name: 'web', backends: [{ name: 'a', address: '127.0.0.1:1', weight: '3' }] })), 'bootstrap.pools[0].backends[0].weight: must be an integer 0..256'],
  ['unknown scheduler', base(pools({ name: 'web', scheduler: 'fastest' })), 'bootstrap.pools[0].scheduler: must be one of: round-robin, least-conn, ip-hash'],
  ['unknown field', base(pools({ name: 'web', colour: 'red' })), 'bootstrap.pools[0].colour: unknown field; allowed here: name, scheduler, healthCheck, slowStart, outlier, backends, stickiness, stickyCookie'],
  ['missing dataDir', { node: { id: 'n1', adminListen: '127.0.0.1:1' } }, 'node.dataDir: is required'],
  ['bad duration', base(pools({ name: 'web', healthCheck: { type: 'http', interval: '2 s' } })), 'bootstrap.pools[0].healthCheck.interval: must be a duration like 500ms, 2s or 1m'],
  ['timeout not below interval', base(pools({ name: 'web', healthCheck: { type: 'tcp', interval: '1s', timeout: '1s' } })), 'bootstrap.pools[0].healthCheck.timeout: must be shorter than interval (1000ms)'],
  ['bad address', base(pools({ name: 'web', backends: [{ name: 'a', address: 'nope' }] })), 'bootstrap.pools[0].backends[0].address: must be host:port, e.g. 127.0.0.1:8080'],
  ['duplicate backend', base(pools({ name: 'web', backends: [{ name: 'a', address: '127.0.0.1:1' }, { name: 'a', address: '127.0.0.1:2' }] })), 'bootstrap.pools[0].backends[1].name: duplicate backend name "a"'],
  ['duplicate pool', base(pools({ name: 'web' }, { name: 'web' })), 'bootstrap.pools[1].name: duplicate pool name "web"'],
  ['route to unknown pool', base({ bootstrap: { pools: [{ name: 'web' }], listeners: [{ name: 'l', mode: 'http', bind: '127.0.0.1:80', routes: [{ pathPrefix: '/', pool: 'nope' }] }] } }), 'bootstrap.listeners[0].routes[0].pool: pool "nope" is not defined in bootstrap.pools'],
  ['tcp listener without pool', base({ bootstrap: { listeners: [{ name: 'l', mode: 'tcp', bind: '127.0.0.1:80' }] } }), 'bootstrap.listeners[0].pool: is required for a tcp listener'],
  ['http listener without routes', base({ bootstrap: { listeners: [{ name: 'l', mode: 'http', bind: '127.0.0.1:80' }] } }), 'bootstrap.listeners[0].routes: an http listener needs at least one route'],
  ['bad expectStatus', base(pools({ name: 'web', healthCheck: { type: 'http', expectStatus: '2xx' } })), 'bootstrap.pools[0].healthCheck.expectStatus: must be status codes or ranges like 200-399 or 200,204'],
  ['bad regex body', base(pools({ name: 'web', healthCheck: { type: 'http', expectBody: '/(/' } })), 'bootstrap.pools[0].healthCheck.expectBody: is not a valid regular expression: Invalid regular expression: /(/: Unterminated group'],
  ['multi-node cluster without secret', base({ node: { id: 'n1', dataDir: 'd', adminListen: '127.0.0.1:1', clusterListen: '127.0.0.1:2' }, cluster: { peers: [{ id: 'n1', address: '127.0.0.1:2' }, { id: 'n2', address: '127.0.0.1:3' }] } }), 'cluster.secret: is required when the cluster has more than one peer (or set secretFile)'],
  ['peers without this node', base({ cluster: { peers: [{ id: 'n2', address: '127.0.0.1:3' }] } }), 'cluster.peers: must include this node ("n1")'],
  ['bad name', base(pools({ name: '../etc' })), 'bootstrap.pools[0].name: must be 1-63 letters, digits, "_", "." or "-", starting with a letter or digit'],
];

for (const [what, raw, message] of BAD) {
  test(`bad config: ${what}`, () => expectError(raw, message));
}

test('a file that is not YAML says where', () => {
  const path = join(dir, 'broken.yaml');
  writeFileSync(path, 'node:\n  id: [unclosed\n');
  assert.throws(() => loadConfigFile(path), /is not valid YAML at line \d+, column \d+/);
});

test('a missing file says so', () => {
  assert.throws(() => loadConfigFile(join(dir, 'absent.yaml')), /cannot read config file .*absent\.yaml: ENOENT/);
});

test('Raft timers: the election spread defaults to half the timeout and stays within one heartbeat..the timeout', () => {
  const cluster = (extra: Record<string, unknown>) => ({
    cluster: { secret: 'a-long-enough-secret', peers: [{ id: 'n1', address: '127.0.0.1:7001' }], electionTimeout: '1s', ...extra },
  });
  assert.equal(buildConfig(base(cluster({})), join(dir, 'x.yaml')).cluster.electionJitterMs, 500);
  assert.equal(buildConfig(base(cluster({ electionJitter: '1s' })), join(dir, 'x.yaml')).cluster.electionJitterMs, 1000);
  expectError(base(cluster({ electionJitter: '2s' })), 'cluster.electionJitter: must be between one heartbeat (100ms) and the election timeout (1000ms)');
  expectError(base(cluster({ electionJitter: '50ms' })), 'cluster.electionJitter: must be between one heartbeat (100ms) and the election timeout (1000ms)');
});

test('peer connect timeout: twice the election timeout, at least 5 s, or as set', () => {
  const cluster = (extra: Record<string, unknown>) => ({
    cluster: { secret: 'a-long-enough-secret', peers: [{ id: 'n1', address: '127.0.0.1:7001' }], ...extra },
  });
  const of = (extra: Record<string, unknown>) => buildConfig(base(cluster(extra)), join(dir, 'x.yaml')).cluster.peerConnectTimeoutMs;
  assert.equal(of({}), 5000);
  assert.equal(of({ heartbeat: '500ms', electionTimeout: '5s' }), 10_000);
  assert.equal(of({ peerConnectTimeout: '30s' }), 30_000);
  expectError(base(cluster({ peerConnectTimeout: '10ms' })), 'cluster.peerConnectTimeout: must be at least 100ms');
  expectError(base(cluster({ peerConnectTimeout: 'soon' })), 'cluster.peerConnectTimeout: must be a duration like 500ms, 2s or 1m');
});
