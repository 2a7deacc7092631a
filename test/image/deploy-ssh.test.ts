// The rolling deploy and the failover drill over REAL SSH: an OpenSSH server on 127.0.0.1 (generated keys),
// three real `ballast start` nodes it restarts through a per-node script, releases as tarballs. Checks the
// order (followers first, the leader last after a transfer), the swap, health between steps, the rollback
// and abort when a node does not come back, and the drill's kill / new leader / client loop.
// About 5 min on a loaded 2-core machine, so it runs in `npm run test:image`, not `npm test`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { leaderView } from '../../scripts/deploy/cluster-health.js';
import { isDeployError } from '../../scripts/deploy/errors.js';
import { readNodeAccess } from '../../scripts/deploy/node-access.js';
import { rollingDeploy } from '../../scripts/deploy/rollout.js';
import type { DeployTarget } from '../../scripts/deploy/types.js';
import { runDrill } from '../../scripts/failover-drill/drill.js';
import { SshHost } from '../../scripts/hosts/ssh-host.js';
import { freePort } from '../support/free-port.js';
import { sshdUnavailable, startSshd, type LoopbackSshd } from '../support/loopback-sshd.js';

const run = promisify(execFile);
const skip = sshdUnavailable();
const repo = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'ballast-deploy-'));
const ids = ['n1', 'n2', 'n3'];
let sshd: LoopbackSshd | null = null;
let backend: Server | null = null;
const hosts: SshHost[] = [];
const targets: DeployTarget[] = [];
let httpPort = 0;

// Restarts the node the way systemd would: SIGTERM, wait (bounded), SIGKILL, start again detached.
const RESTART = `#!/bin/sh
d=$(dirname "$0")
if [ -f "$d/pid" ]; then
  pid=$(cat "$d/pid"); kill -TERM "$pid" 2>/dev/null; i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done
  kill -KILL "$pid" 2>/dev/null
fi
setsid node "$d/opt/ballast/bin/ballast.js" start --config "$d/ballast.yaml" >>"$d/log" 2>&1 </dev/null &
echo $! >"$d/pid"
`;

/** A release tarball: a bin/ballast.js running this checkout's CLI, and a VERSION; `broken` starts and exits 1. */
async function release(name: string, broken = false): Promise<string> {
  const stage = join(dir, `release-${name}`);
  mkdirSync(join(stage, 'bin'), { recursive: true });
  const shim = broken
    ? `if (process.argv[2] === 'start') { console.error('broken release'); process.exit(1); }\nawait import(${JSON.stringify(`file://${repo}/bin/ballast.js`)});\n`
    : `await import(${JSON.stringify(`file://${repo}/bin/ballast.js`)});\n`;
  writeFileSync(join(stage, 'bin/ballast.js'), shim);
  writeFileSync(join(stage, 'VERSION'), `ballast ${name}\n`);
  const out = join(dir, `${name}.tar.gz`);
  await run('tar', ['-czf', out, '-C', stage, '.']);
  return out;
}

const nodeDir = (id: string): string => join(dir, id);
const version = (id: string, which = ''): string => readFileSync(join(nodeDir(id), `opt/ballast${which}/VERSION`), 'utf8').trim();
const pid = (id: string): number => Number(readFileSync(join(nodeDir(id), 'pid'), 'utf8'));

function killAll(): void {
  for (const id of ids) {
    try {
      process.kill(pid(id), 'SIGKILL');
    } catch {
      // not running
    }
  }
}

before(async () => {
  if (skip) return;
  sshd = await startSshd(dir);
  backend = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => backend!.listen(0, '127.0.0.1', r));
  const backendPort = (backend.address() as AddressInfo).port;
  httpPort = await freePort();
  const ports = await Promise.all(ids.map(async () => ({ admin: await freePort(), peer: await freePort() })));
  const v1 = await release('v1');
  for (const [i, id] of ids.entries()) {
    const d = nodeDir(id);
    mkdirSync(join(d, 'opt/ballast'), { recursive: true });
    await run('tar', ['-xzf', v1, '-C', join(d, 'opt/ballast')]);
    const config = {
      node: { id, dataDir: join(d, 'data'), adminListen: `127.0.0.1:${ports[i]!.admin}`, clusterListen: `127.0.0.1:${ports[i]!.peer}`, workers: 1, listenHost: `127.0.0.${i + 1}` },
      cluster: { secret: 'deploy-test-secret', peers: ids.map((p, j) => ({ id: p, address: `127.0.0.1:${ports[j]!.peer}` })) },
      admin: { user: 'admin', password: 'deploy-test-pw' },
      bootstrap: {
        pools: [{ name: 'web', backends: [{ name: 'b1', address: `127.0.0.1:${backendPort}` }] }],
        listeners: [{ name: 'web', mode: 'http', bind: `0.0.0.0:${httpPort}`, routes: [{ pathPrefix: '/', pool: 'web' }] }],
      },
    };
    writeFileSync(join(d, 'ballast.yaml'), stringify(config));
    writeFileSync(join(d, 'restart.sh'), RESTART, { mode: 0o755 });
    const host = await SshHost.connect({ name: id, host: '127.0.0.1', port: sshd.port, username: 'root', privateKeyPath: sshd.privateKeyPath });
    hosts.push(host);
    targets.push({ host, installDir: join(d, 'opt/ballast'), configPath: join(d, 'ballast.yaml'), restart: [join(d, 'restart.sh')] });
    await host.exec(join(d, 'restart.sh'), []);
  }
  // The cluster forms: a leader that lists everyone, every node ready.
  const nodes = await Promise.all(targets.map(async (t) => ({ target: t, access: await readNodeAccess(t) })));
  const deadline = Date.now() + 90_000;
  while ((await leaderView(nodes))?.nodes.length !== 3) {
    if (Date.now() > deadline) throw new Error('the test cluster did not form within 90 s');
    await new Promise((r) => setTimeout(r, 500));
  }
});

after(async () => {
  killAll();
  await Promise.all(hosts.map((h) => h.close()));
  await sshd?.stop();
  await new Promise<void>((r) => (backend ? backend.close(() => r()) : r()));
  rmSync(dir, { recursive: true, force: true });
});

test('rolling deploy over SSH: followers first, the leader last after a transfer, each back before the next', { skip: skip ?? false, timeout: 300_000 }, async () => {
  const v2 = await release('v2');
  const pidsBefore = new Map(ids.map((id) => [id, pid(id)]));
  const lines: string[] = [];
  const report = await rollingDeploy({ tarball: v2, targets, nodeTimeoutMs: 90_000, log: (l) => lines.push(l) });
  assert.equal(report.version, 'ballast v2');
  assert.equal(report.steps.length, 3);
  assert.deepEqual(report.steps.map((s) => s.outcome), ['updated', 'updated', 'updated']);
  // Only the last node restarted was the leader when its turn came, and it handed leadership over first.
  assert.deepEqual(report.steps.map((s) => s.wasLeader), [false, false, true], lines.join('\n'));
  assert.ok((report.steps[2]!.transferMs ?? -1) >= 0);
  for (const id of ids) {
    assert.equal(version(id), 'ballast v2');
    assert.equal(version(id, '.prev'), 'ballast v1');
    assert.notEqual(pid(id), pidsBefore.get(id), `${id} was restarted`);
  }
  const nodes = await Promise.all(targets.map(async (t) => ({ target: t, access: await readNodeAccess(t) })));
  const view = await leaderView(nodes);
  assert.ok(view !== null && view.nodes.length === 3);
  assert.notEqual(view.leader, report.order[2], 'the old leader is a follower now');
});

test('a node that does not come back is rolled back and the deploy stops, the others untouched', { skip: skip ?? false, timeout: 300_000 }, async () => {
  const broken = await release('v3-broken', true);
  const versions = new Map(ids.map((id) => [id, version(id)]));
  await assert.rejects(
    rollingDeploy({ tarball: broken, targets, nodeTimeoutMs: 15_000 }),
    (err: unknown) => isDeployError(err, 'DEPLOY_ERR_NODE_NOT_BACK') && /rolled back, cluster healthy again; .+ left untouched/.test((err as Error).message),
  );
  // Every node runs what it ran before; nothing staged is left behind.
  for (const id of ids) {
    assert.equal(version(id), versions.get(id));
    const staged = await run('ls', ['-a', join(nodeDir(id), 'opt')]);
    assert.doesNotMatch(staged.stdout, /ballast\.next/);
  }
  const failed = ids.filter((id) => readFileSync(join(nodeDir(id), 'log'), 'utf8').includes('broken release'));
  assert.equal(failed.length, 1, 'exactly one node tried the broken release');
});

test('failover drill over SSH: the leader is killed, another leads, the client loop keeps going', { skip: skip ?? false, timeout: 300_000 }, async () => {
  const client = await SshHost.connect({ name: 'c1', host: '127.0.0.1', port: sshd!.port, username: 'root', privateKeyPath: sshd!.privateKeyPath });
  try {
    const nodes = await Promise.all(targets.map(async (t) => ({ target: t, access: await readNodeAccess(t) })));
    const leader = (await leaderView(nodes))!.leader!;
    // No VIP on loopback: the client requests a follower's own listener, so this proves the drill's
    // mechanics (kill over SSH, election seen, client samples), not a client-visible failover.
    const follower = ids.findIndex((id) => id !== leader);
    const report = await runDrill({
      nodes: targets,
      client,
      url: `http://127.0.0.${follower + 1}:${httpPort}/`,
      kill: ['sh', '-c', `kill -KILL "$(cat ${join(nodeDir(leader), 'pid')})"`],
      settleMs: 2000,
    });
    assert.equal(report.oldLeader, leader);
    assert.ok(report.newLeader !== null && report.newLeader !== leader, `new leader: ${report.newLeader}`);
    assert.ok(report.electionMs !== null && report.electionMs < 60_000);
    assert.ok(report.requests > 5 && report.recovered);
  } finally {
    await client.close();
  }
});
