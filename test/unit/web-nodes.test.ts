// Node reports (cluster/node/peer-reports, node-report) and what the admin API makes of them:
// GET /api/v1/nodes with ages and fresh/stale/unreachable, reports checked on receipt, traffic
// counters read from the workers' metric family; and a login on a node that has not applied the
// admin user yet, which catches up through the read barrier before it refuses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { Counter, Registry } from 'prom-client';
import { backendTraffic } from '../../cluster/node/node-report.js';
import { PeerReports, isNodeReport } from '../../cluster/node/peer-reports.js';
import type { NodeReport } from '../../cluster/node/types.js';
import { bootstrapAccess } from '../../web/access-bootstrap.js';
import type { NodesResponseT } from '../../web/schemas.js';
import { ADMIN, asAdmin, basic, webFixture } from './web-fixture.js';

const logger = pino({ level: 'silent' });

function report(node: string, over: Partial<NodeReport> = {}): NodeReport {
  return {
    node,
    at: 1_700_000_000_000,
    raft: { role: 'follower', term: 3, leader: 'n1', commitIndex: 41, lastIndex: 41, leaderContactMs: 120 },
    stats: { cpu: { percent: 12.5, cores: 2 }, memory: { total: 8e9, used: 2e9 }, load: [0.5, 0.4, 0.3], uptimeSec: 3600, interfaces: [{ name: 'lo', ip4: '127.0.0.1', up: true, rxBytesPerSec: 10, txBytesPerSec: null }] },
    traffic: [{ pool: 'web', backend: 'a', requests: 10, errors: 1 }],
    ...over,
  };
}

function board(now: { t: number }, sent: NodeReport[] = []) {
  return new PeerReports({
    self: 'n1',
    members: () => ['n1', 'n2', 'n3'],
    make: async () => report('n1', { raft: { role: 'leader', term: 3, leader: 'n1', commitIndex: 41, lastIndex: 41, leaderContactMs: 0 } }),
    send: (r) => sent.push(r),
    logger,
    everyMs: 1000,
    now: () => now.t,
  });
}

test('a report ages from fresh to stale to unreachable on the receiver clock; a node never heard from is unreachable', async () => {
  const now = { t: 0 };
  const b = board(now);
  b.receive('n2', report('n2'));
  now.t = 500;
  let view = await b.view();
  assert.deepEqual(view.map((e) => [e.id, e.status, e.ageMs]), [['n1', 'self', 0], ['n2', 'fresh', 500], ['n3', 'unreachable', null]]);
  assert.equal(view[0]?.report?.raft.role, 'leader');
  assert.equal(view[1]?.report?.raft.role, 'follower', "a peer's own role, as it reported it");
  assert.equal(b.freshRaft('n2')?.role, 'follower');
  assert.equal(b.freshRaft('n3'), null, 'never heard from');
  now.t = b.staleAfterMs;
  assert.equal((await b.view())[1]?.status, 'stale');
  assert.equal(b.freshRaft('n2'), null, 'a stale report names no role');
  now.t = b.unreachableAfterMs;
  view = await b.view();
  assert.equal(view[1]?.status, 'unreachable');
  assert.equal(view[1]?.report?.stats?.cpu.cores, 2, 'the last known figures stay');
  // A new report makes it fresh again.
  b.receive('n2', report('n2'));
  assert.equal((await b.view())[1]?.status, 'fresh');
});

test('reports are checked on receipt: wrong sender, wrong types and non-finite numbers are dropped', async () => {
  const now = { t: 0 };
  const b = board(now);
  b.receive('n3', report('n2'));
  b.receive('n2', { ...report('n2'), raft: { ...report('n2').raft, role: 'king' } });
  b.receive('n2', { ...report('n2'), stats: { cpu: { percent: '12', cores: 2 } } });
  b.receive('n2', { ...report('n2'), traffic: [{ pool: 'web', backend: 'a', requests: Number.NaN, errors: 0 }] });
  b.receive('n2', 'hello');
  assert.deepEqual((await b.view()).map((e) => e.status), ['self', 'unreachable', 'unreachable']);
  assert.equal(isNodeReport(report('n2', { stats: null, traffic: null })), true);
});

test('the board sends its own report on start and then every round', async () => {
  const sent: NodeReport[] = [];
  const b = board({ t: 0 }, sent);
  b.start();
  try {
    const deadline = Date.now() + 10_000;
    while (sent.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(sent.length >= 2, `sent ${sent.length}`);
    assert.equal(sent[0]?.node, 'n1');
  } finally {
    b.stop();
  }
});

test('traffic counters per backend come from ballast_http_requests_total, 5xx counted as errors', async () => {
  const registry = new Registry();
  const c = new Counter({ name: 'ballast_http_requests_total', help: 'h', labelNames: ['listener', 'pool', 'backend', 'code'], registers: [registry] });
  c.inc({ listener: 'front', pool: 'web', backend: 'a', code: '200' }, 7);
  c.inc({ listener: 'other', pool: 'web', backend: 'a', code: '502' }, 2);
  c.inc({ listener: 'front', pool: 'web', backend: 'b', code: '404' }, 1);
  c.inc({ listener: 'front', pool: 'web', backend: '', code: '503' }, 5);
  const t = await backendTraffic(registry);
  assert.deepEqual(t.sort((x, y) => x.backend.localeCompare(y.backend)), [
    { pool: 'web', backend: 'a', requests: 9, errors: 2 },
    { pool: 'web', backend: 'b', requests: 1, errors: 0 },
  ]);
});

test('GET /api/v1/nodes: a bare node reports itself with its host read by systeminformation', async () => {
  const fx = await webFixture();
  try {
    const res = await fx.app.inject({ method: 'GET', url: '/api/v1/nodes', headers: asAdmin });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<NodesResponseT>();
    assert.equal(body.node, 'n1');
    assert.equal(body.nodes.length, 1);
    const self = body.nodes[0];
    assert.equal(self?.status, 'self');
    assert.equal(self?.report?.raft.role, 'leader');
    assert.ok((self?.report?.stats?.cpu.cores ?? 0) >= 1);
    assert.ok((self?.report?.stats?.memory.total ?? 0) > 0);
    assert.ok(self?.report?.stats?.interfaces.some((i) => i.ip4 === '127.0.0.1'), JSON.stringify(self?.report?.stats?.interfaces));
    const doc = (await fx.app.inject({ method: 'GET', url: '/api/v1/openapi.json', headers: asAdmin })).json<{ paths: Record<string, unknown> }>();
    assert.ok(doc.paths['/api/v1/nodes'], 'documented in the OpenAPI document');
    assert.equal((await fx.app.inject({ method: 'GET', url: '/api/v1/nodes' })).statusCode, 401);
  } finally {
    await fx.close();
  }
});

test("GET /api/v1/nodes: peers' own reports with their ages and statuses", async () => {
  const now = { t: 0 };
  const b = board(now);
  b.receive('n2', report('n2'));
  now.t = 300;
  const fx = await webFixture({ nodeReports: b });
  try {
    const body = (await fx.app.inject({ method: 'GET', url: '/api/v1/nodes', headers: asAdmin })).json<NodesResponseT>();
    assert.equal(body.reportEveryMs, 1000);
    assert.deepEqual(body.nodes.map((n) => [n.id, n.status, n.ageMs, n.report?.raft.role ?? null]), [['n1', 'self', 0, 'leader'], ['n2', 'fresh', 300, 'follower'], ['n3', 'unreachable', null, null]]);
    assert.deepEqual(body.nodes[1]?.report?.traffic, [{ pool: 'web', backend: 'a', requests: 10, errors: 1 }]);
  } finally {
    await fx.close();
  }
});

test('login on a node that has not applied the admin user yet: it catches up through the read barrier, then answers', async () => {
  let barriers = 0;
  // The node's state is empty; the barrier is where the committed entry creating the admin arrives.
  const fx = await webFixture({
    empty: true,
    readBarrier: async () => {
      barriers++;
      if (barriers === 1) await bootstrapAccess(fx.store, ADMIN, logger);
    },
  });
  try {
    assert.equal(fx.store.readAccess().user(ADMIN.user), undefined);
    const res = await fx.app.inject({ method: 'POST', url: '/api/v1/session', payload: ADMIN });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(barriers, 1);
    // Basic takes the same path; a good password now needs no barrier.
    assert.equal((await fx.app.inject({ method: 'GET', url: '/api/v1/pools', headers: asAdmin })).statusCode, 200);
    assert.equal(barriers, 1);
    // A wrong password still fails after one barrier (the record did not change), and counts once.
    const wrong = await fx.app.inject({ method: 'GET', url: '/api/v1/pools', headers: basic(ADMIN.user, 'not-the-password') });
    assert.equal(wrong.statusCode, 401);
    assert.equal(barriers, 2);
  } finally {
    await fx.close();
  }
});

test('without a read barrier (one-node node) or without quorum (the barrier fails) a not-yet-known user is refused', async () => {
  const plain = await webFixture({ empty: true });
  const noQuorum = await webFixture({
    empty: true,
    readBarrier: () => Promise.reject(new Error('linearizable read not confirmed (no quorum?)')),
  });
  try {
    // Access exists (a session secret) but this user does not: one barrier, then 401.
    for (const fx of [plain, noQuorum]) await bootstrapAccess(fx.store, { user: 'someone-else', password: 'other-password-1' }, logger);
    for (const fx of [plain, noQuorum]) {
      const started = Date.now();
      const res = await fx.app.inject({ method: 'POST', url: '/api/v1/session', payload: ADMIN });
      assert.equal(res.statusCode, 401, res.body);
      assert.ok(Date.now() - started < 5_000);
    }
  } finally {
    await plain.close();
    await noQuorum.close();
  }
});
