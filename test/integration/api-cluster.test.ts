// The REST API and `ballast ctl` against a real three-node cluster of `ballast start` processes:
// a write on a follower is forwarded, commits, and reads back on every node (each read naming its
// node and commit index); the audit entry is replicated; ctl prints tables and --json; with two
// nodes gone, writes get 503 saying there is no quorum and change nothing, while reads still answer.
// A leadership transfer asked of a follower is passed to the leader. Every node's own report (role,
// host stats) reaches a follower over the peer link; a killed node shows as unreachable there.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ADMIN, type AdminCluster, eventually, startAdminCluster } from '../support/admin-cluster.js';
import { runCli } from '../support/node-process.js';

interface Meta {
  node: string;
  version: number;
  commitIndex: number;
}
interface ErrorBody {
  error: { code: string; message: string; field: string };
}
interface NodesBody extends Meta {
  reportEveryMs: number;
  unreachableAfterMs: number;
  nodes: {
    id: string;
    status: 'self' | 'fresh' | 'stale' | 'unreachable';
    ageMs: number | null;
    report: { node: string; raft: { role: string; term: number; leader: string | null; commitIndex: number }; stats: { cpu: { cores: number }; memory: { total: number }; load: number[]; interfaces: { name: string; ip4: string }[] } | null } | null;
  }[];
}
type PoolBody = Meta & { pool: { name: string; scheduler: string; backends: { name: string; address: string; weight: number; state: string }[] } };

describe('admin API on a three-node cluster', { timeout: 300_000 }, () => {
  let cluster: AdminCluster;
  let leader: string;
  let followers: string[];

  const ctl = (node: string, ...args: string[]) =>
    runCli(['ctl', '--api', cluster.node(node).proc.admin, '--user', ADMIN.user, '--password', ADMIN.password, ...args], 60_000);

  before(async () => {
    cluster = await startAdminCluster();
    leader = await cluster.leader();
    followers = cluster.nodes.map((n) => n.id).filter((id) => id !== leader);
  });
  after(async () => {
    await cluster?.stop();
  });

  it('forwards a write made on a follower; every node reads it back and says who answered at which index', async () => {
    const [f1, f2] = followers as [string, string];
    const b1 = cluster.origins[0]!;
    const created = await cluster.call<PoolBody>(f1, 'POST', '/api/v1/pools', { name: 'api', scheduler: 'least-conn', backends: [{ name: 'a1', address: b1.address, weight: 3 }] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.node, f1, 'the follower answers its own write');
    assert.ok(created.body.commitIndex > 0);
    // Read-your-writes on the node that took the write, at once.
    assert.equal((await cluster.call(f1, 'GET', '/api/v1/pools/api')).status, 200);
    for (const n of cluster.nodes) {
      const read = await eventually(`pool on ${n.id}`, 10_000, async () => {
        const r = await cluster.call<PoolBody>(n.id, 'GET', '/api/v1/pools/api');
        return r.status === 200 && r.body.version >= created.body.version ? r.body : undefined;
      });
      assert.equal(read.node, n.id);
      assert.ok(read.commitIndex >= created.body.commitIndex - 1, `${n.id} commit index ${read.commitIndex}`);
      assert.deepEqual(read.pool.backends.map((b) => [b.name, b.address, b.weight]), [['a1', b1.address, 3]]);
    }

    // A change on the other follower; the leader reads it.
    const patched = await cluster.call<PoolBody & { backend: { state: string } }>(f2, 'PATCH', '/api/v1/pools/api/backends/a1', { state: 'drain' });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.node, f2);
    await eventually('drain on the leader', 10_000, async () =>
      (await cluster.call<{ backend: { state: string } }>(leader, 'GET', '/api/v1/pools/api/backends/a1')).body.backend.state === 'drain' ? true : undefined,
    );

    // The audit log is replicated too: the leader lists the follower's write with who and from where.
    const audit = await cluster.api<{ entries: { user: string; via: string; from: string; action: string; target: string }[] }>(leader, '/api/v1/audit?limit=20');
    const entry = audit.entries.find((e) => e.action === 'pool.create' && e.target === 'api');
    assert.ok(entry, JSON.stringify(audit.entries));
    assert.equal(entry.user, ADMIN.user);
    assert.equal(entry.via, 'basic');
    assert.match(entry.from, /127\.0\.0\.1/);

    // A refused write on a follower names the field and changes nothing anywhere.
    const before = await cluster.api<PoolBody>(leader, '/api/v1/pools/api');
    const bad = await cluster.call<ErrorBody>(f1, 'PATCH', '/api/v1/pools/api/backends/a1', { weight: -1 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, 'weight');
    const unknown = await cluster.call<ErrorBody>(f1, 'PATCH', '/api/v1/pools/nope/backends/a1', { weight: 2 });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error.message, /nope/);
    assert.equal((await cluster.api<PoolBody>(leader, '/api/v1/pools/api')).version, before.version);
  });

  it("a follower shows every node's own role and host stats, as each node reported them", async () => {
    const f = followers[0]!;
    const other = followers[1]!;
    const view = await eventually(`${f} has a fresh report from every node`, 30_000, async () => {
      const r = await cluster.api<NodesBody>(f, '/api/v1/nodes');
      // Each report is a snapshot up to 2 s old: on a loaded box one can come from a moment a follower's
      // election timer fired (pre-candidate, leader unknown), so wait for a round where all agree.
      return r.nodes.length === 3 && r.nodes.every((n) => (n.status === 'self' || n.status === 'fresh') && n.report?.stats && n.report.raft.leader === leader) ? r : undefined;
    });
    assert.equal(view.node, f);
    assert.deepEqual(view.nodes.map((n) => n.id), [f, ...cluster.nodes.map((n) => n.id).filter((id) => id !== f)], 'this node first, then the others');
    for (const n of view.nodes) {
      assert.equal(n.report?.node, n.id);
      assert.ok((n.report?.stats?.cpu.cores ?? 0) >= 1, `${n.id} cores`);
      assert.ok((n.report?.stats?.memory.total ?? 0) > 0, `${n.id} memory`);
      assert.equal(n.report?.stats?.load.length, 3);
      assert.ok(n.report?.stats?.interfaces.some((i) => i.ip4 === '127.0.0.1'), `${n.id} interfaces`);
      assert.ok(n.status === 'self' || (n.ageMs !== null && n.ageMs < view.unreachableAfterMs), `${n.id} age ${n.ageMs}`);
    }
    // A follower's Raft knows no other follower: /cluster names its role from that node's own fresh report.
    await eventually(`${f}'s /cluster names ${other} a follower`, 30_000, async () => {
      const raftView = await cluster.api<{ nodes: { id: string; role: string }[] }>(f, '/api/v1/cluster');
      return raftView.nodes.find((n) => n.id === other)?.role === 'follower' ? true : undefined;
    });
    const roles = Object.fromEntries(view.nodes.map((n) => [n.id, n.report?.raft.role]));
    assert.deepEqual(roles, { [leader]: 'leader', [f]: 'follower', [other]: 'follower' });

    const status = await ctl(f, 'status');
    assert.equal(status.code, 0, status.stderr);
    for (const n of cluster.nodes) {
      assert.match(status.stdout, new RegExp(`^${n.id}\\s+(this node|(fresh|stale) \\([0-9.]+s ago\\))\\s+(leader|follower)\\s+\\d+\\s+\\d+\\s+\\d+% of \\d+\\s+[0-9.]+/[0-9.]+ GiB`, 'm'));
    }
  });

  it('ballast ctl drives the same operations on a follower, as tables and as --json', async () => {
    const f = followers[0]!;
    const status = await ctl(f, 'status');
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`answered by ${f}: leader ${leader}, term \\d+, commit index \\d+`));
    for (const n of cluster.nodes) assert.match(status.stdout, new RegExp(`^${n.id}\\s+127\\.0\\.0\\.1:\\d+\\s+(leader|follower|unknown)`, 'm'));

    const created = await ctl(f, 'create-pool', 'cache', '--scheduler', 'round-robin', '--check', 'tcp', '--interval', '1s', '--timeout', '500ms', '--backend', `c1=${cluster.origins[1]!.address},2`, '--json');
    assert.equal(created.code, 0, created.stderr);
    const body = JSON.parse(created.stdout) as PoolBody;
    assert.equal(body.node, f);
    assert.equal(body.pool.backends[0]?.weight, 2);

    const listener = await ctl(f, 'create-listener', 'cache', '0.0.0.0:0', '--pool', 'cache', '--mode', 'tcp');
    assert.equal(listener.code, 0, listener.stderr);
    assert.match(listener.stdout, /created listener cache \(tcp on 0\.0\.0\.0:0\)/);
    // The new tcp listener serves on another node.
    const port = await cluster.port(leader, 'cache');
    const res = await fetch(`http://${cluster.node(leader).host}:${port}/`);
    assert.equal(await res.text(), 'b2');

    const drained = await ctl(f, 'drain', 'cache', 'c1');
    assert.equal(drained.code, 0, drained.stderr);
    const backends = await ctl(leader, 'backends', 'cache');
    assert.match(backends.stdout, /^c1\s+127\.0\.0\.1:\d+\s+2\s+drain\s/m);

    const refused = await ctl(f, 'weight', 'cache', 'c1', '999', '--json');
    assert.equal(refused.code, 1);
    assert.equal((JSON.parse(refused.stdout) as ErrorBody).error.field, 'weight');
    assert.match(refused.stderr, /weight/);

    const audit = await ctl(leader, 'audit', '--limit', '5');
    assert.equal(audit.code, 0, audit.stderr);
    assert.match(audit.stdout, /^SEQ\s+AT\s+WHO/);
    assert.match(audit.stdout, /admin \(basic\)/);

    assert.equal((await ctl(f, 'delete-listener', 'cache')).code, 0);
    const gone = await ctl(f, 'delete-pool', 'cache');
    assert.equal(gone.code, 0, gone.stderr);
    assert.equal((await cluster.call(leader, 'GET', '/api/v1/pools/cache')).status, 404);
  });

  it('passes a leadership transfer asked of a follower to the leader; the VIP follows', async () => {
    const f = followers[1]!;
    const r = await cluster.call<Meta & { to: string }>(f, 'POST', '/api/v1/cluster/transfer-leadership', {});
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.to, f, 'a follower asked without a target offers itself');
    await eventually(`${f} leads and holds the VIP`, 30_000, async () => {
      const c = await cluster.api<{ leader: string | null; vip: { holder: string | null } }>(f, '/api/v1/cluster');
      return c.leader === f && c.vip.holder === f ? true : undefined;
    });
    // How long it has led and held the VIP, by its own clock (the failover drill dates takeovers from these).
    type Timed = { leadingForMs: number | null; vip: { heldForMs: number | null } };
    const first = await cluster.api<Timed>(f, '/api/v1/cluster');
    assert.ok(Number.isInteger(first.leadingForMs) && Number.isInteger(first.vip.heldForMs), JSON.stringify(first));
    assert.ok(first.vip.heldForMs! <= first.leadingForMs!, `the VIP was raised after it took office: ${JSON.stringify(first)}`);
    await sleep(300);
    const later = await cluster.api<Timed>(f, '/api/v1/cluster');
    assert.ok(later.leadingForMs! >= first.leadingForMs! + 300, `a duration that runs: ${first.leadingForMs} then ${later.leadingForMs}`);
    const other = await cluster.api<Timed>(followers[0]!, '/api/v1/cluster');
    assert.deepEqual([other.leadingForMs, other.vip.heldForMs], [null, null], 'a follower neither leads nor holds the VIP');
    const same = await cluster.call<ErrorBody>(f, 'POST', '/api/v1/cluster/transfer-leadership', { to: f });
    assert.equal(same.status, 409, JSON.stringify(same.body));
    assert.equal(same.body.error.field, 'to');
  });

  it('with two nodes gone: writes get 503 saying there is no quorum and change nothing; reads still answer', async () => {
    const survivor = followers[0]!;
    const stateBefore = await cluster.api<Meta & { pools: unknown[] }>(survivor, '/api/v1/pools');
    const killedAt = Date.now();
    for (const n of cluster.nodes.filter((x) => x.id !== survivor)) await cluster.kill(n.id);
    // Until the survivor notices (an election timeout), it still names the dead leader.
    await eventually('survivor knows no leader', 30_000, async () => ((await cluster.api<{ leader: string | null }>(survivor, '/api/v1/cluster')).leader === null ? true : undefined));

    const write = await cluster.call<ErrorBody>(survivor, 'POST', '/api/v1/pools', { name: 'lost', backends: [] });
    assert.equal(write.status, 503, JSON.stringify(write.body));
    assert.equal(write.body.error.code, 'CLUSTER_ERR_NO_LEADER');
    assert.match(write.body.error.message, /no quorum/);
    const res = await fetch(`${cluster.node(survivor).proc.admin}/api/v1/pools/web/backends/b1`, {
      method: 'PATCH',
      headers: { authorization: `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'drain' }),
    });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    await res.body?.cancel();

    const read = await cluster.api<Meta & { pools: { name: string }[] }>(survivor, '/api/v1/pools');
    assert.equal(read.node, survivor);
    assert.ok(read.commitIndex >= stateBefore.commitIndex);
    assert.equal(read.version, stateBefore.version, 'nothing changed');
    assert.ok(!read.pools.some((p) => p.name === 'lost'));
    const view = await cluster.api<Meta & { leader: string | null; nodes: { id: string }[] }>(survivor, '/api/v1/cluster');
    assert.equal(view.leader, null);
    assert.equal(view.node, survivor);

    // The killed nodes go silent: unreachable within a bound, their last known figures kept.
    const gone = await eventually('killed nodes unreachable on the survivor', 30_000, async () => {
      const r = await cluster.api<NodesBody>(survivor, '/api/v1/nodes');
      return r.nodes.filter((n) => n.id !== survivor).every((n) => n.status === 'unreachable') ? r : undefined;
    });
    const unreachableAfter = Date.now() - killedAt;
    process.stdout.write(`# killed nodes shown unreachable ${unreachableAfter} ms after the kill (bound ${gone.unreachableAfterMs} ms of silence)\n`);
    assert.ok(unreachableAfter >= gone.unreachableAfterMs / 2, `unreachable after ${unreachableAfter} ms: too soon`);
    for (const n of gone.nodes.filter((x) => x.id !== survivor)) {
      assert.ok(n.ageMs !== null && n.ageMs >= gone.unreachableAfterMs, `${n.id} age ${n.ageMs}`);
      assert.ok(n.report?.stats, `${n.id} keeps its last known stats`);
    }
    assert.equal(gone.nodes.find((n) => n.id === survivor)?.status, 'self');
    // Without a fresh report, the survivor does not guess the silent nodes' roles.
    const roles = await cluster.api<{ nodes: { id: string; role: string }[] }>(survivor, '/api/v1/cluster');
    assert.deepEqual(roles.nodes.filter((n) => n.id !== survivor).map((n) => n.role), ['unknown', 'unknown']);

    const viaCtl = await ctl(survivor, 'drain', 'web', 'b1');
    assert.equal(viaCtl.code, 1);
    assert.match(viaCtl.stderr, /no quorum.*\[CLUSTER_ERR_NO_LEADER\]/);
  });
});
