// The netns lab for real: every host reachable from the client, TCP through the bridge, cable pulls, VIP
// holders, idempotent up, clean down, and a root namespace that never sees a lab address or route.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { hostRunner } from '../../cluster/vip/command-runner.js';
import { listNamespaces, namespacesUnavailable } from '../../scripts/lab/netns.js';
import { answered, httpGetIn, tcpProbe } from '../../scripts/lab/probe.js';
import { watchVip } from '../../scripts/lab/vip-watch.js';
import { execIn, labDown, labStatus, labUp, labTopology, setLink, spawnIn, vipHolders } from '../../scripts/lab/topology.js';

const unavailable = await namespacesUnavailable();
if (unavailable !== null) console.log(`lab tests skipped: ${unavailable}`);

const prefix = `blt${process.pid % 100000}`;
const lab = labTopology({ prefix });
const host = hostRunner();
const children: ChildProcess[] = [];

interface RootView {
  addresses: string;
  routes: string;
  links: string[];
}

async function rootView(): Promise<RootView> {
  const addresses = (await host.run('ip', ['-o', 'addr', 'show'])).stdout;
  const routes = (await host.run('ip', ['route', 'show', 'table', 'all'])).stdout;
  const links = (await host.run('ip', ['-o', 'link', 'show'])).stdout
    .split('\n')
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? '')
    .filter((name) => name !== '')
    .sort();
  return { addresses, routes, links };
}

function assertRootClean(view: RootView, before: RootView): void {
  assert.doesNotMatch(view.addresses, /198\.1[89]\./, 'no lab address in the root namespace');
  assert.doesNotMatch(view.routes, /198\.1[89]\./, 'no lab route in the root namespace');
  assert.deepEqual(view.links, before.links, 'no interface added to or removed from the root namespace');
}

/** A tiny HTTP server inside `ns` on `address`, port 0; resolves with its port once it listens. */
async function startServer(ns: string, address: string, name: string): Promise<{ child: ChildProcess; port: number }> {
  const source = `
    const http = require('node:http');
    const server = http.createServer((req, res) => res.end(JSON.stringify({ from: process.argv[1], url: req.url })));
    server.listen(0, process.argv[2], () => console.log(server.address().port));
    process.on('SIGTERM', () => server.close(() => process.exit(0)));`;
  const child = spawnIn(ns, process.execPath, ['-e', source, name, address], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  try {
    const [line] = (await once(lines, 'line')) as [string];
    return { child, port: Number(line) };
  } finally {
    clearTimeout(timer);
    lines.close();
  }
}

let rootBefore: RootView;

before(async () => {
  if (unavailable !== null) return;
  rootBefore = await rootView();
  assertRootClean(rootBefore, rootBefore);
});

after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (unavailable === null) await labDown({ prefix });
});

test('lab up: the client reaches every node and backend, an absent host does not answer', { skip: unavailable ?? false, timeout: 60_000 }, async () => {
  const built = await labUp({ prefix });
  assert.deepEqual(built, lab);
  const names = await listNamespaces();
  for (const ns of [lab.bridgeNs, ...lab.hosts.map((h) => h.ns)]) assert.ok(names.includes(ns), `${ns} exists`);

  const targets = [...lab.nodes, ...lab.backends].map((h) => ({ host: h.address, port: 9 }));
  const results = await tcpProbe(lab.client.ns, [...targets, { host: '198.18.0.99', port: 9 }], 1500);
  for (const r of results.slice(0, targets.length)) assert.ok(answered(r), `${r.host}: ${r.outcome} ${r.code ?? ''}`);
  const absent = results[targets.length];
  assert.ok(absent !== undefined && !answered(absent), `198.18.0.99 has no host and must not answer (${absent?.outcome})`);

  const { stdout: lo } = await execIn(lab.nodes[0]!.ns, 'ip', ['-o', 'link', 'show', 'lo']);
  assert.match(lo, /<[^>]*\bUP\b/, 'loopback is up inside the namespaces');

  assertRootClean(await rootView(), rootBefore);
});

test('TCP through the bridge: a backend HTTP server answers the client', { skip: unavailable ?? false, timeout: 60_000 }, async () => {
  const b1 = lab.backends[0]!;
  const { child, port } = await startServer(b1.ns, b1.address, 'b1');
  assert.ok(port > 0);
  const res = await httpGetIn(lab.client.ns, `http://${b1.address}:${port}/hello`, 3000);
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), { from: 'b1', url: '/hello' });
  // From a node too: the nodes will proxy to the backends.
  const fromNode = await httpGetIn(lab.nodes[1]!.ns, `http://${b1.address}:${port}/n2`, 3000);
  assert.deepEqual(JSON.parse(fromNode.body), { from: 'b1', url: '/n2' });
  child.kill('SIGTERM');
  await once(child, 'exit');
});

test('setLink pulls and plugs a node\'s cable', { skip: unavailable ?? false, timeout: 60_000 }, async () => {
  const n1 = lab.nodes[0]!;
  await setLink(n1.ns, false);
  const down = await tcpProbe(lab.client.ns, [{ host: n1.address, port: 9 }], 1000);
  assert.equal(answered(down[0]!), false, `partitioned n1 must not answer (${down[0]?.outcome})`);
  const status = await labStatus({ prefix });
  assert.equal(status.hosts.find((h) => h.host.ns === n1.ns)?.linkUp, false);
  // The node keeps its own address while partitioned, as after a real cable pull.
  assert.deepEqual(status.hosts.find((h) => h.host.ns === n1.ns)?.addresses, [n1.cidr]);
  await setLink(n1.ns, true);
  // ARP may need a moment after the port comes back; a few bounded tries.
  let last = '';
  for (let i = 0; i < 5; i++) {
    const up = await tcpProbe(lab.client.ns, [{ host: n1.address, port: 9 }], 1000);
    last = up[0]?.outcome ?? '';
    if (up[0] !== undefined && answered(up[0])) break;
  }
  assert.equal(last, 'refused', 'n1 answers again once plugged back');
});

test('vipHolders, watchVip and status see who carries the VIP', { skip: unavailable ?? false, timeout: 60_000 }, async () => {
  const [n1, n2, n3] = lab.nodes.map((h) => h.ns) as [string, string, string];
  assert.deepEqual(await vipHolders(lab.vip, { prefix }), []);
  // n1 holds the VIP before the watch starts: the watch's snapshot must seed it.
  await execIn(n1, 'ip', ['addr', 'add', lab.vip, 'dev', 'eth0']);
  const watch = await watchVip(lab.vip, { prefix });
  try {
    assert.deepEqual(watch.holders(), [n1]);
    await execIn(n2, 'ip', ['addr', 'add', lab.vip, 'dev', 'eth0']);
    assert.deepEqual(await vipHolders(lab.vip, { prefix }), [n1, n2], 'overlap is visible');
    assert.deepEqual((await labStatus({ prefix })).vipHolders, [n1, n2]);
    await sleep(200);
    await execIn(n1, 'ip', ['addr', 'del', lab.vip, 'dev', 'eth0']);
    assert.deepEqual(await vipHolders('198.18.0.100', { prefix }), [n2]);
    // A blink too short for 50 ms sampling to be sure of: the event stream still sees it.
    await execIn(n3, 'ip', ['addr', 'add', lab.vip, 'dev', 'eth0']);
    await execIn(n3, 'ip', ['addr', 'del', lab.vip, 'dev', 'eth0']);

    for (let i = 0; i < 40 && watch.events.length < 5; i++) await sleep(50);
    assert.deepEqual(
      watch.events.map((e) => `${e.held ? '+' : '-'}${e.ns}`),
      [`+${n1}`, `+${n2}`, `-${n1}`, `+${n3}`, `-${n3}`],
    );
    assert.deepEqual(watch.holders(), [n2]);
    const overlap = watch.overlapMs();
    assert.ok(overlap >= 150 && overlap < 10_000, `n1 and n2 overlapped about 200 ms, measured ${overlap} ms`);
    console.log(`watchVip: measured overlap ${overlap} ms (n1+n2 for ~200 ms plus the n3 blink)`);
  } finally {
    await watch.stop();
  }

  const rounds = 20;
  const started = Date.now();
  for (let i = 0; i < rounds; i++) await vipHolders(lab.vip, { prefix });
  console.log(`vipHolders over 3 nodes: ${((Date.now() - started) / rounds).toFixed(1)} ms per sample`);
  assertRootClean(await rootView(), rootBefore);
});

test('lab up again replaces a stale lab, ending its processes; down removes everything', { skip: unavailable ?? false, timeout: 60_000 }, async () => {
  const b2 = lab.backends[1]!;
  const { child } = await startServer(b2.ns, b2.address, 'b2');
  const exited = once(child, 'exit');
  await labUp({ prefix });
  await exited;
  assert.deepEqual(await vipHolders(lab.vip, { prefix }), [], 'the rebuilt lab starts without a VIP');
  const status = await labStatus({ prefix });
  for (const h of status.hosts) assert.deepEqual([h.present, h.linkUp, h.addresses], [true, true, [h.host.cidr]], h.host.ns);

  await labDown({ prefix });
  const left = (await listNamespaces()).filter((ns) => ns.startsWith(`${prefix}-`));
  assert.deepEqual(left, []);
  await labDown({ prefix });
  assertRootClean(await rootView(), rootBefore);
});
