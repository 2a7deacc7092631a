// The admin API of a real BallastNode (real worker processes, real sockets): GET /pools shows the
// live active connections the workers count and the health the node observes; /metrics carries
// the workers' data-plane families next to the node's own.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { get } from '../support/http-client.js';
import { startTestNode, type TestNode } from '../support/in-process-node.js';
import { startOrigin, type Origin } from '../support/origin-server.js';
import { hashPassword } from '../../web/password.js';

const AUTH = { authorization: `Basic ${Buffer.from('tester:tester-password').toString('base64')}` };

let origin: Origin;
let tn: TestNode;
let admin: string;

before(async () => {
  origin = await startOrigin('o1');
  tn = await startTestNode({
    pools: [{ name: 'web', healthCheck: { type: 'http', path: '/health', interval: '500ms', timeout: '400ms', rise: 1 }, backends: [{ name: 'o1', address: origin.address }] }],
    listeners: [{ name: 'front', mode: 'http', bind: '127.0.0.1:0', routes: [{ pathPrefix: '/', pool: 'web' }] }],
  });
  admin = tn.node.adminUrl();
  const at = Date.now();
  const r = await tn.node.store!.propose({ v: 2, op: 'user.add', user: { name: 'tester', role: 'admin', passwordHash: await hashPassword('tester-password'), createdAt: at, updatedAt: at } });
  assert.ok(r.ok);
});
after(async () => {
  await tn?.stop();
  await origin?.close();
});

interface Pools {
  node: string;
  pools: { name: string; backends: { name: string; health: { status: string; reason: string }; active: number | null; eligible: boolean | null }[] }[];
}

async function backendView(): Promise<Pools['pools'][number]['backends'][number]> {
  const res = await fetch(`${admin}/api/v1/pools`, { headers: AUTH });
  assert.equal(res.status, 200);
  const body = (await res.json()) as Pools;
  assert.equal(body.node, 'n1');
  return body.pools[0]!.backends[0]!;
}

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last = await read();
  while (!ok(last)) {
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(last)} after ${ms}ms`);
    await new Promise((r) => setTimeout(r, 100));
    last = await read();
  }
  return last;
}

test('GET /pools: health observed by the node, active connections counted by the workers', async () => {
  const up = await until('backend up', backendView, (b) => b.health.status === 'up');
  assert.equal(up.active, 0);
  assert.equal(up.eligible, true);

  const slow = get(tn.port('front'), '/slow?ms=2500');
  const busy = await until('one request in flight', backendView, (b) => b.active === 1, 5000);
  assert.equal(busy.active, 1);
  const reply = await slow;
  assert.equal(reply.status, 200);
  await until('back to idle', backendView, (b) => b.active === 0, 5000);
});

test('GET /metrics: data-plane families from the workers, health and raft families from the node', async () => {
  for (let i = 0; i < 5; i++) assert.equal((await get(tn.port('front'), '/')).status, 200);
  const res = await fetch(`${admin}/metrics`, { headers: AUTH });
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /^ballast_http_requests_total\{listener="front",pool="web",backend="o1",code="200"\} ([0-9]+)$/m);
  const served = Number(/^ballast_http_requests_total\{listener="front",pool="web",backend="o1",code="200"\} ([0-9]+)$/m.exec(text)?.[1]);
  assert.ok(served >= 5, `served ${served}`);
  assert.match(text, /^ballast_connections_total\{listener="front"\} [1-9]/m);
  assert.match(text, /^ballast_backend_up\{pool="web",backend="o1"\} 1$/m);
  assert.match(text, /^ballast_health_checks_total\{pool="web",backend="o1",result="pass"\} [1-9]/m);
  assert.match(text, /^ballast_raft_is_leader 1$/m);
  assert.match(text, /^ballast_vip_held 0$/m);
  assert.match(text, /^process_resident_memory_bytes [1-9]/m);
  assert.equal((await fetch(`${admin}/metrics`)).status, 401);
});

test('a change through the API reaches the workers live', async () => {
  const res = await fetch(`${admin}/api/v1/pools/web/backends/o1`, { method: 'PATCH', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ state: 'disabled' }) });
  assert.equal(res.status, 200);
  const { version } = (await res.json()) as { version: number };
  await tn.node.supervisor!.waitApplied(version, 10_000);
  assert.equal((await get(tn.port('front'), '/')).status, 503);
  const view = await backendView();
  assert.equal(view.eligible, false);
});
