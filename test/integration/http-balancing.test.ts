// HTTP balancing through a real node: schedulers, drain, a backend dying under load, live changes.
// The control plane runs in the test process; workers are real processes on real sockets.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, test } from 'node:test';
import { normalizeBackend } from '../../config/normalize.js';
import { get, inParallel } from '../support/http-client.js';
import { startTestNode, type TestNode } from '../support/in-process-node.js';
import { startOrigin, type Origin } from '../support/origin-server.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function origins(n: number, opts: { delayMs?: number }[] = []): Promise<Origin[]> {
  const list = await Promise.all(Array.from({ length: n }, (_, i) => startOrigin(`o${i + 1}`, opts[i] ?? {})));
  for (const o of list) cleanups.push(() => o.close());
  return list;
}

async function node(pool: Record<string, unknown>, workers = 1): Promise<TestNode> {
  const n = await startTestNode(
    { pools: [pool], listeners: [{ name: 'web', mode: 'http', bind: '127.0.0.1:0', routes: [{ pathPrefix: '/', pool: pool['name'] }] }] },
    { workers },
  );
  cleanups.push(() => n.stop());
  return n;
}

function tally(bodies: string[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const b of bodies) t[b] = (t[b] ?? 0) + 1;
  return t;
}

test('round-robin with weights 1:2:3 over 6,000 requests lands within ±3% of 1/6, 2/6, 3/6', async () => {
  const os = await origins(3);
  const n = await node(
    { name: 'web', scheduler: 'round-robin', backends: os.map((o, i) => ({ name: o.name, address: o.address, weight: i + 1 })) },
    2,
  );
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  cleanups.push(async () => agent.destroy());
  const replies = await inParallel(6000, 16, () => get(n.port('web'), '/', { agent }));
  assert.ok(replies.every((r) => r.status === 200), 'every request answered 200');
  const t = tally(replies.map((r) => r.body));
  const shares = os.map((o) => (t[o.name] ?? 0) / 6000);
  console.log(`round-robin shares: ${shares.map((s) => s.toFixed(4)).join(' ')}`);
  [1 / 6, 2 / 6, 3 / 6].forEach((want, i) => assert.ok(Math.abs(shares[i]! - want) <= 0.03, `o${i + 1} share ${shares[i]} vs ${want}`));
});

test('least-conn sends new work away from a backend holding slow requests', async () => {
  const [slow, fast] = await origins(2, [{ delayMs: 400 }, {}]);
  const n = await node({ name: 'web', scheduler: 'least-conn', backends: [slow, fast].map((o) => ({ name: o!.name, address: o!.address })) });
  const replies = await inParallel(80, 8, () => get(n.port('web')));
  const t = tally(replies.map((r) => r.body));
  console.log(`least-conn: slow=${t['o1'] ?? 0} fast=${t['o2'] ?? 0}`);
  // Round-robin would split 40/40; least-conn keeps at most a few requests parked on the slow one.
  assert.ok((t['o2'] ?? 0) >= 64, `fast backend got ${t['o2']} of 80`);
});

test('ip-hash keeps each client address on one backend', async () => {
  const os = await origins(3);
  const n = await node({ name: 'web', scheduler: 'ip-hash', backends: os.map((o) => ({ name: o.name, address: o.address })) });
  const byClient = new Map<string, Set<string>>();
  for (let c = 10; c < 40; c++) {
    const ip = `127.0.0.${c}`;
    for (let k = 0; k < 4; k++) {
      const r = await get(n.port('web'), '/', { localAddress: ip });
      assert.equal(r.status, 200);
      (byClient.get(ip) ?? byClient.set(ip, new Set()).get(ip)!).add(r.body);
    }
  }
  for (const [ip, set] of byClient) assert.equal(set.size, 1, `${ip} was served by ${[...set].join(', ')}`);
  const used = new Set([...byClient.values()].flatMap((s) => [...s]));
  assert.ok(used.size >= 2, '30 clients spread over more than one backend');
});

test('drain: no new work to the drained backend while its open request completes', async () => {
  const os = await origins(2);
  const n = await node({ name: 'web', scheduler: 'round-robin', backends: os.map((o) => ({ name: o.name, address: o.address })) });
  const long = get(n.port('web'), '/slow?ms=1500');
  const deadline = Date.now() + 5000;
  while (!os.some((o) => o.inFlight() === 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const busy = os.find((o) => o.inFlight() === 1);
  assert.ok(busy, 'the slow request reached a backend');
  await n.change({ v: 1, op: 'backend.patch', pool: 'web', backend: busy.name, changes: { state: 'drain' } });
  const before = busy.seen.length;
  const replies = await inParallel(30, 5, () => get(n.port('web')));
  assert.ok(replies.every((r) => r.status === 200 && r.body !== busy.name), 'nothing new went to the drained backend');
  assert.equal(busy.seen.length, before);
  const lr = await long;
  assert.equal(lr.status, 200);
  assert.equal(lr.body, busy.name, 'the request in flight on the drained backend completed');
});

test('a backend killed under load: only requests it already held may fail', async () => {
  const os = await origins(3);
  const n = await node({ name: 'web', scheduler: 'round-robin', backends: os.map((o) => ({ name: o.name, address: o.address })) });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
  cleanups.push(async () => agent.destroy());
  let done = 0;
  let heldAtKill = -1;
  const replies = await inParallel(600, 10, async () => {
    if (++done === 200) {
      heldAtKill = os[1]!.inFlight();
      await os[1]!.kill();
    }
    return get(n.port('web'), '/', { agent });
  });
  const failed = replies.filter((r) => r.status !== 200);
  console.log(`killed backend held ${heldAtKill} requests; ${failed.length} of 600 failed`);
  assert.ok(heldAtKill >= 0);
  assert.ok(failed.length <= heldAtKill, `${failed.length} failures, but the killed backend held only ${heldAtKill}`);
  for (const f of failed) assert.equal(f.status, 502);
  const after = replies.slice(300);
  assert.ok(after.every((r) => r.status === 200 && r.body !== 'o2'), 'long after the kill every request is served by the survivors');
});

test('live changes (add backend, weight, drain) keep a keep-alive client connection open', async () => {
  const os = await origins(3);
  const n = await node({ name: 'web', scheduler: 'round-robin', backends: [{ name: 'o1', address: os[0]!.address }] });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  cleanups.push(async () => agent.destroy());
  const sockets = new Set<unknown>();
  const track = async () => {
    const r = await new Promise<{ body: string; socket: unknown }>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: n.port('web'), path: '/', agent }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ body, socket: req.socket }));
      });
      req.on('error', reject);
    });
    sockets.add(r.socket);
    return r.body;
  };
  assert.equal(await track(), 'o1');
  await n.change({ v: 1, op: 'backend.add', pool: 'web', backend: normalizeBackend({ name: 'o2', address: os[1]!.address }, 'b') });
  await n.change({ v: 1, op: 'backend.patch', pool: 'web', backend: 'o1', changes: { weight: 5 } });
  await n.change({ v: 1, op: 'backend.patch', pool: 'web', backend: 'o1', changes: { state: 'drain' } });
  const bodies = [await track(), await track(), await track()];
  assert.deepEqual(bodies, ['o2', 'o2', 'o2']);
  assert.equal(sockets.size, 1, 'one client connection carried every request across the changes');
});
