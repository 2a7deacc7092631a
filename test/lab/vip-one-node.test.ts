// A one-node appliance (cluster.peers names only itself) with a VIP: no Raft, no lease, so it is the
// active node for as long as it runs. It must raise the VIP once it starts and drop it on SIGTERM, as a
// lone keepalived MASTER does. Real daemon, real `ip addr`, inside a namespace.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ip } from '../../scripts/lab/netns.js';
import { linkedPairLab, startDaemonIn } from '../support/linked-pair.js';

const { a: A, skip } = await linkedPairLab('one-node VIP lab test', 'bvo', ['198.18.4.1/24', '198.18.4.2/24']);
const VIP_IP = '198.18.4.100';
const dir = mkdtempSync(join(tmpdir(), 'ballast-vip-one-node-'));

async function vipOnA(): Promise<boolean> {
  const { stdout } = await ip(['-n', A, '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
  return stdout.includes(` ${VIP_IP}/24 `);
}

after(() => rmSync(dir, { recursive: true, force: true }));

test('a one-node cluster raises its VIP once started and releases it on SIGTERM', { skip, timeout: 180_000 }, async () => {
  const config = join(dir, 'one-node.json');
  writeFileSync(
    config,
    JSON.stringify({
      node: { id: 'solo', dataDir: join(dir, 'data'), adminListen: '127.0.0.1:0', workers: 1 },
      cluster: {
        peers: [{ id: 'solo', address: '127.0.0.1:7301' }],
        vip: { driver: 'linux', address: `${VIP_IP}/24`, interface: 'eth0' },
      },
    }),
  );
  const daemon = startDaemonIn(A, config, dir);
  try {
    const deadline = Date.now() + 120_000;
    while (!(await vipOnA()) && daemon.child.exitCode === null && Date.now() < deadline) await sleep(200);
    assert.equal(await vipOnA(), true, `the lone node never raised ${VIP_IP}: ${daemon.output().slice(-2000)}`);
  } finally {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  }
  assert.equal(await vipOnA(), false, `SIGTERM left ${VIP_IP} on eth0: ${daemon.output().slice(-2000)}`);
});
