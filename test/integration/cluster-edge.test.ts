// Caching and stickiness across a 3-node cluster of real `ballast start` processes: a purge made
// through one node's API empties the cache of another node, and a sticky cookie from one node
// keeps the client on its backend on the other nodes after the leader is SIGKILLed.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort } from '../support/free-port.js';
import { get } from '../support/http-client.js';
import { readiness, spawnNodeProcess, waitReady, writeConfig, type NodeProcess } from '../support/node-process.js';
import { startOrigin } from '../support/origin-server.js';
import { startScriptedOrigin } from '../support/scripted-origin.js';
import { eventually } from '../support/admin-cluster.js';

const PASSWORD = 'cluster-edge-pw';
const AUTH = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;
const running = new Map<string, NodeProcess>();
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  await Promise.all([...running.values()].map((n) => n.stop('SIGKILL')));
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

interface Member {
  id: string;
  host: string;
  admin: string;
}

test('a purge through one node clears another node; a sticky cookie survives a leader SIGKILL', async () => {
  const s1 = await startOrigin('s1');
  const s2 = await startOrigin('s2');
  const assets = await startScriptedOrigin(() => ({ headers: { 'cache-control': 'max-age=600' }, body: 'asset' }));
  cleanups.push(() => s1.close(), () => s2.close(), () => assets.close());

  const dir = mkdtempSync(join(tmpdir(), 'ballast-cluster-edge-'));
  const ids = ['n1', 'n2', 'n3'];
  const ports = await Promise.all(ids.map(async () => ({ admin: await freePort(), peer: await freePort() })));
  const httpPort = await freePort();
  const members: Member[] = [];
  ids.forEach((id, i) => {
    const config = {
      node: { id, dataDir: join(dir, id), adminListen: `127.0.0.1:${ports[i]!.admin}`, clusterListen: `127.0.0.1:${ports[i]!.peer}`, workers: 1, listenHost: `127.0.0.${i + 1}` },
      cluster: { secret: 'cluster-edge-secret', peers: ids.map((p, j) => ({ id: p, address: `127.0.0.1:${ports[j]!.peer}` })) },
      admin: { user: 'admin', password: PASSWORD },
      bootstrap: {
        pools: [
          { name: 'app', stickiness: 'cookie', stickyCookie: 'srv', backends: [{ name: 's1', address: s1.address }, { name: 's2', address: s2.address }] },
          { name: 'assets', backends: [{ name: 'a', address: assets.address }] },
        ],
        listeners: [
          {
            name: 'web',
            mode: 'http',
            bind: `0.0.0.0:${httpPort}`,
            routes: [
              { pathPrefix: '/assets/', pool: 'assets', name: 'assets', cache: {} },
              { pathPrefix: '/', pool: 'app' },
            ],
          },
        ],
      },
    };
    const proc = spawnNodeProcess(config, writeConfig(config, mkdtempSync(join(tmpdir(), `ballast-${id}-`))));
    running.set(id, proc);
    members.push({ id, host: `127.0.0.${i + 1}`, admin: `http://127.0.0.1:${ports[i]!.admin}` });
  });
  await Promise.all([...running.values()].map((p) => waitReady(p, 60_000)));
  const leaderOf = async (ms: Member[]): Promise<Member> =>
    eventually('a leader', 15_000, async () => {
      for (const m of ms) if ((await readiness(m.admin))?.node?.role === 'leader') return m;
      return undefined;
    });
  const leader = await leaderOf(members);
  const [a, b] = members.filter((m) => m !== leader) as [Member, Member];

  // Cache: each node holds /assets/x after its first request.
  for (const m of members) {
    await get(httpPort, '/assets/x', { host: m.host });
    assert.equal((await get(httpPort, '/assets/x', { host: m.host })).headers['x-cache'], 'HIT', `${m.id} caches`);
  }
  assert.equal(assets.count('/assets/x'), 3);
  // Purge through follower a's API (forwarded to the leader); node b's cache empties.
  const res = await fetch(`${a.admin}/api/v1/cache?route=assets&prefix=/assets/`, { method: 'DELETE', headers: { authorization: AUTH } });
  assert.equal(res.status, 200, await res.text());
  await eventually('node b misses after the purge', 5000, async () => ((await get(httpPort, '/assets/x', { host: b.host })).headers['x-cache'] === 'MISS' ? true : undefined));
  assert.equal((await get(httpPort, '/assets/x', { host: leader.host })).headers['x-cache'], 'MISS', 'the leader purged too');

  // Stickiness: a cookie from the leader's node...
  const first = await get(httpPort, '/', { host: leader.host });
  const cookie = (first.headers['set-cookie'] ?? []).find((c) => c.startsWith('srv='))?.split(';')[0];
  assert.ok(cookie !== undefined, 'the response set the sticky cookie');
  const backend = first.body;
  // ...is honoured by both other nodes, before and after the leader is SIGKILLed.
  for (const m of [a, b]) {
    for (let i = 0; i < 10; i++) assert.equal((await get(httpPort, '/', { host: m.host, headers: { cookie } })).body, backend);
  }
  await running.get(leader.id)!.stop('SIGKILL');
  running.delete(leader.id);
  const next = await leaderOf([a, b]);
  console.log(`leader ${leader.id} killed; ${next.id} leads; cookie ${cookie} still pins ${backend}`);
  for (const m of [a, b]) {
    const replies = await Promise.all(Array.from({ length: 50 }, () => get(httpPort, '/', { host: m.host, headers: { cookie } })));
    assert.ok(replies.every((r) => r.status === 200 && r.body === backend), `${m.id} keeps the client on ${backend}`);
  }
});
