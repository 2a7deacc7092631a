// Sticky sessions by cookie and weighted splits between pools, through real nodes and workers:
// a sticky cookie names the backend (so another node honours it), a split holds its weights over
// 10,000 requests, pinning keeps a client on its pool, and a live 100/0 through the API moves new
// requests without cutting the one in flight.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, test } from 'node:test';
import { get, inParallel, type Reply } from '../support/http-client.js';
import { startTestNode, type TestNode } from '../support/in-process-node.js';
import { startOrigin, type Origin } from '../support/origin-server.js';

const ADMIN = { user: 'admin', password: 'traffic-test-pw' };
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function origins(...names: string[]): Promise<Origin[]> {
  const list = await Promise.all(names.map((n) => startOrigin(n)));
  for (const o of list) cleanups.push(() => o.close());
  return list;
}

async function node(bootstrap: { pools: unknown[]; listeners: unknown[] }, workers = 1): Promise<TestNode> {
  const n = await startTestNode(bootstrap, { workers, admin: ADMIN });
  cleanups.push(() => n.stop());
  return n;
}

function cookieOf(r: Reply, name: string): string | undefined {
  const lines = r.headers['set-cookie'] ?? [];
  const line = lines.find((l) => l.startsWith(`${name}=`));
  return line?.slice(name.length + 1).split(';')[0];
}

function tally(bodies: string[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const b of bodies) t[b] = (t[b] ?? 0) + 1;
  return t;
}

const auth = { authorization: `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}` };

async function api(n: TestNode, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${n.adminUrl}${path}`, {
    method,
    headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('sticky cookie: 100 requests stay on one backend; another node honours the cookie; a drained backend is re-picked', async () => {
  const os = await origins('s1', 's2', 's3');
  const bootstrap = {
    pools: [{ name: 'app', scheduler: 'round-robin', stickiness: 'cookie', stickyCookie: 'srv', backends: os.map((o) => ({ name: o.name, address: o.address })) }],
    listeners: [{ name: 'web', mode: 'http', bind: '127.0.0.1:0', routes: [{ pathPrefix: '/', pool: 'app' }] }],
  };
  const n1 = await node(bootstrap, 2);
  const first = await get(n1.port('web'), '/');
  const backend = cookieOf(first, 'srv');
  assert.equal(backend, first.body, 'the cookie names the backend that answered');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  cleanups.push(async () => agent.destroy());
  const replies = await inParallel(100, 4, () => get(n1.port('web'), '/', { agent, headers: { cookie: `other=1; srv=${backend}` } }));
  assert.deepEqual(tally(replies.map((r) => r.body)), { [backend]: 100 });
  assert.ok(replies.every((r) => r.headers['set-cookie'] === undefined), 'an honoured cookie is not set again');
  // Without the cookie round-robin spreads: stickiness comes from the cookie, not from luck.
  const loose = await inParallel(30, 1, () => get(n1.port('web'), '/'));
  assert.ok(new Set(loose.map((r) => r.body)).size >= 2);

  // A second node (its own workers, state from the same bootstrap) honours the first node's cookie.
  const n2 = await node(bootstrap, 1);
  const elsewhere = await inParallel(20, 2, () => get(n2.port('web'), '/', { headers: { cookie: `srv=${backend}` } }));
  assert.deepEqual(tally(elsewhere.map((r) => r.body)), { [backend]: 20 });

  // Drained: the cookie is no longer honoured; the client is moved and told so.
  await n1.change({ v: 1, op: 'backend.patch', pool: 'app', backend, changes: { state: 'drain' } });
  const moved = await get(n1.port('web'), '/', { headers: { cookie: `srv=${backend}` } });
  assert.notEqual(moved.body, backend);
  assert.equal(cookieOf(moved, 'srv'), moved.body);
  // An unknown backend name is treated like no cookie.
  const unknown = await get(n1.port('web'), '/', { headers: { cookie: 'srv=nope' } });
  assert.equal(cookieOf(unknown, 'srv'), unknown.body);
});

test('split 95/5 over 10,000 requests lands within ±1.5%; header and cookie pinning; live 100/0 through the API keeps the request in flight', async () => {
  const [blue, green] = await origins('blue', 'green');
  const bootstrap = {
    pools: [
      { name: 'v1', backends: [{ name: 'blue', address: blue!.address }] },
      { name: 'v2', backends: [{ name: 'green', address: green!.address }] },
    ],
    listeners: [
      {
        name: 'web',
        mode: 'http',
        bind: '127.0.0.1:0',
        routes: [{ pathPrefix: '/', split: [{ pool: 'v1', weight: 95 }, { pool: 'v2', weight: 5 }], pin: { cookie: 'canary', header: 'x-canary' } }],
      },
    ],
  };
  const n = await node(bootstrap, 2);
  const port = n.port('web');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  cleanups.push(async () => agent.destroy());
  const replies = await inParallel(10_000, 16, () => get(port, '/', { agent }));
  assert.ok(replies.every((r) => r.status === 200));
  const t = tally(replies.map((r) => r.body));
  const share = (t['green'] ?? 0) / 10_000;
  console.log(`split 95/5 over 10,000: blue=${t['blue']} green=${t['green']} (green share ${share.toFixed(4)})`);
  assert.ok(Math.abs(share - 0.05) <= 0.015, `green share ${share}`);
  // Every unpinned reply carried the pin cookie naming the pool that answered.
  const pinned = replies.slice(0, 200).map((r) => [cookieOf(r, 'canary'), r.body === 'blue' ? 'v1' : 'v2']);
  assert.ok(pinned.every(([c, p]) => c === p));

  // Cookie pinning: a v2 client stays on v2.
  const onV2 = await inParallel(50, 4, () => get(port, '/', { headers: { cookie: 'canary=v2' } }));
  assert.deepEqual(tally(onV2.map((r) => r.body)), { green: 50 });
  assert.ok(onV2.every((r) => r.headers['set-cookie'] === undefined));
  // Header pinning: a value naming a pool picks it; any other value maps to one pool, always the same.
  const forced = await inParallel(20, 4, () => get(port, '/', { headers: { 'x-canary': 'v2' } }));
  assert.deepEqual(tally(forced.map((r) => r.body)), { green: 20 });
  for (const user of ['u1', 'u2', 'u3', 'u4']) {
    const same = await inParallel(10, 2, () => get(port, '/', { headers: { 'x-canary': user } }));
    assert.equal(new Set(same.map((r) => r.body)).size, 1, `user ${user} always lands on one pool`);
  }

  // A slow request in flight on v2, then blue-green to 100/0 through the API.
  const slow = get(port, '/slow?ms=1500', { headers: { cookie: 'canary=v2' } });
  const deadline = Date.now() + 5000;
  while (green!.inFlight() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(green!.inFlight(), 1);
  const current = await api(n, 'GET', '/api/v1/listeners/web');
  const listener = current.json['listener'] as Record<string, unknown> & { routes: { split: { pool: string; weight: number }[] }[] };
  assert.deepEqual(listener.routes[0]?.split, [{ pool: 'v1', weight: 95 }, { pool: 'v2', weight: 5 }], 'the split reads back in input form');
  listener.routes[0].split = [{ pool: 'v1', weight: 100 }, { pool: 'v2', weight: 0 }];
  delete listener['port'];
  const put = await api(n, 'PUT', '/api/v1/listeners/web', listener);
  assert.equal(put.status, 200, JSON.stringify(put.json));
  await n.node.supervisor?.waitApplied(n.node.store?.read().version ?? 0, 10_000);
  const afterSwitch = await inParallel(200, 8, (i) => get(port, '/', i % 2 === 0 ? { agent } : { headers: { cookie: 'canary=v2' } }));
  assert.deepEqual(tally(afterSwitch.map((r) => r.body)), { blue: 200 }, 'every new request, pinned to v2 or not, goes to v1');
  const inFlight = await slow;
  assert.equal(inFlight.status, 200);
  assert.equal(inFlight.body, 'green', 'the request open during the switch completed on v2');

  // Validation names the field.
  const bad = await api(n, 'PUT', '/api/v1/listeners/web', { ...listener, routes: [{ pathPrefix: '/', split: [{ pool: 'v1', weight: 0 }] }] });
  assert.equal(bad.status, 400);
  assert.equal((bad.json['error'] as { field: string }).field, 'routes[0].split');
});
